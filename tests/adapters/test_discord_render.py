"""Reply -> Discord markdown: escaping, styles, splitting at 2,000 characters, buttons."""

from __future__ import annotations

from bots.commands import Deps
from bots.discord.render import TEXT_LIMIT, chunks, dc_len, render, span_md
from bots.reply import Action, Button, Reply, Span, bold, code, italic


def test_styles_and_escaping() -> None:
    reply = Reply.text("Hi ", bold("a*b"), " ", italic("x_y"), " ", code("`rm`"), " ~~no~~")
    # a backtick in code copies back exactly: a double-backtick span, padded
    assert chunks(reply) == [r"Hi **a\*b** *x\_y* `` `rm` `` \~\~no\~\~"]
    assert span_md(Span(" padded ", "bold")) == " **padded** "  # "** x**" would not be bold
    assert span_md(Span("", "code")) == ""


def test_split_between_lines_and_inside_overlong_lines() -> None:
    reply = Reply()
    for i in range(100):
        reply.add(f"line {i:03d} ", bold("x" * 40))
    parts = chunks(reply)
    assert len(parts) > 1 and all(dc_len(p) <= TEXT_LIMIT for p in parts)
    assert "\n".join(parts).count("line ") == 100  # nothing lost, no line cut in two

    huge = Reply.text("start ", bold("*" * 5000), " end")
    parts = chunks(huge)
    assert all(dc_len(p) <= TEXT_LIMIT for p in parts)
    assert sum(p.count(r"\*") for p in parts) == 5000  # every character, still escaped

    emoji = Reply.text("🔥" * 1500)  # 2 UTF-16 units each: Discord counts 3,000
    parts = chunks(emoji)
    assert len(parts) == 2 and all(dc_len(p) <= TEXT_LIMIT for p in parts)
    assert "".join(parts) == "🔥" * 1500  # never a surrogate pair split


async def test_blank_edges_dropped_and_empty_reply_still_says_something(deps: Deps) -> None:
    assert chunks(Reply().blank().add("x").blank()) == ["x"]
    [message] = (await render(deps, Reply())).messages()
    assert message["content"] == "✅"


async def test_buttons_become_at_most_five_rows_of_five(deps: Deps) -> None:
    reply = Reply.text("pick")
    for i in range(30):
        reply.button_row(Button(f"Habit {i}", Action("done", f"#{i}")))
    reply.button_row(Button("again", Action("done", "#0")))  # duplicate custom_id: dropped
    rendered = await render(deps, reply)
    assert rendered.view is not None
    rows = rendered.view.to_components()
    assert len(rows) == 5 and all(len(r["components"]) == 5 for r in rows)
    assert rows[0]["components"][0]["custom_id"].endswith(".done|#0")


async def test_image_goes_with_the_last_message(deps: Deps) -> None:
    reply = Reply.text("x" * 1500).add("y" * 1500)
    reply.image, reply.image_name, reply.image_alt = b"\x89PNG", "chart.png", "a chart"
    first, last = (await render(deps, reply)).messages()
    assert "files" not in first and last["files"][0].filename == "chart.png"
    assert last["files"][0].description == "a chart"
