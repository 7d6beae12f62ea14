"""Random text never breaks the bot: any argument text for any registered command comes back as
a Reply (never an exception, never an internal error), and the parser only ever raises
UsageError / InvalidInput."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bots.commands import REGISTRY, Chat, Deps, Invocation, execute
from bots.parsing import convert_all, parse_text
from bots.reply import Reply
from core.errors import InvalidInput
from tests.conftest import Say

NAMES = sorted({*REGISTRY.text_names(), *REGISTRY.tops()})
COMMANDS = sorted(REGISTRY.commands)
TODAY = date(2026, 3, 2)

# Characters that tend to break things: emoji (also with joiners), right-to-left scripts and
# marks, control characters, quotes, separators the parser cares about.
SPICY = st.sampled_from(
    [
        "📚", "👩‍👩‍👧", "🏳️‍🌈", "קריאה", "قراءة", "\u202e", "\u200f", "\u200b", "\x00", "\x1b[31m",
        "\r\n", "\t", '"', "'", "=", ",", "/", "#", "@", "#1", "-5", "0", "1e999", "nan", "25:00",
        "every=", "target=", "remind=", "kind=", "unit=", "yesterday", "3/week", "mon,wed",
        "Europe/Berlin", "𝟙𝟚", "٣", "Ⅻ", "²", "#²", "#٣", "#99999999999999999999", " ", "\u3000",
    ]
)
WORDS = st.lists(st.one_of(SPICY, st.text(max_size=12)), max_size=8).map(" ".join)
ARGS = st.one_of(
    st.text(max_size=80),
    WORDS,
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.builds(lambda c, n: c * n, SPICY, st.integers(100, 2100)),  # very long
)
SETTINGS = settings(
    max_examples=int(__import__("os").environ.get("PROP_N", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_sane(reply: object, sent: str) -> None:
    assert isinstance(reply, Reply)
    assert "Something went wrong" not in reply.plain(), sent


@SETTINGS
@given(name=st.sampled_from(NAMES), text=ARGS, user=st.sampled_from(["ann", "bob"]))
async def test_any_text_to_any_command_returns_a_reply(
    say: Say, name: str, text: str, user: str
) -> None:
    sent = f"/{name} {text}"
    assert_sane(await say(sent, user=user), sent)


@SETTINGS
@given(text=ARGS)
async def test_any_text_at_all_returns_a_reply(say: Say, text: str) -> None:
    assert_sane(await say(text), text)
    assert_sane(await say("/" + text), text)


@SETTINGS
@given(data=st.data())
async def test_typed_values_for_any_command_return_a_reply(deps: Deps, data: st.DataObject) -> None:
    # Typed platforms (Discord) send a command name and option values as strings.
    name = data.draw(st.sampled_from(COMMANDS))
    command = REGISTRY.commands[name]
    values = {
        arg.name: data.draw(ARGS, label=arg.name)
        for arg in command.args
        if data.draw(st.booleans(), label=f"send {arg.name}")
    }
    group = data.draw(st.sampled_from([None, "club"]))
    chat = Chat("group", group, title=group) if group else Chat("private", "ann")
    inv = Invocation(
        "discord", "ann", "Ann", chat, command=name, values=values, is_admin=bool(group)
    )
    assert_sane(await execute(deps, inv), f"{name} {values}")


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(COMMANDS), text=ARGS)
def test_parse_text_raises_only_usage_errors(name: str, text: str) -> None:
    command = REGISTRY.commands[name]
    try:
        raw = parse_text(command, text)
        convert_all(command, raw, TODAY)
    except InvalidInput:  # UsageError is one
        pass


TRICKY = [
    "²", "#²", "#٣", "٣", "#99999999999999999999", "#-1", "#0", "\x00", "\u202eRead", "📚" * 70,
    "x" * 2001, '"', "'", "=", "a=b", "every=", "-5", "nan", "1e999", "25:00", "../..", "%_\\",
    "9" * 400, "𝟙𝟚" * 155, "Read " + "9" * 400,
]


async def test_every_command_survives_each_tricky_token(say: Say) -> None:
    # A deterministic sweep: random sampling can miss a rare (command, token) pair.
    assert not (await say("/habit add Read target=5 unit=pages")).error
    failures = []
    for name in NAMES:
        for token in TRICKY:
            sent = f"/{name} {token}"
            reply = await say(sent)
            if "Something went wrong" in reply.plain():
                failures.append(sent[:60])
    assert not failures, failures
