"""Commands written into replies ("add one: /habit add Read every=day") as Usage spans, built from
the registry's declarations, so each adapter can write them the way its platform types them."""

from __future__ import annotations

from bots.commands.registry import REGISTRY, Command
from bots.parsing import parse_text, split_command
from bots.reply import Reply, Span, Usage
from core.errors import InvalidInput


def cmd(name: str, *positional: object, **keywords: object) -> Span:
    """`/name` with values: positional ones fill the declared non-keyword arguments in order,
    keywords name theirs; a flag is given as True. E.g. cmd("habit add", "Read", every="day")."""
    command = _command(name)
    slots = [a for a in command.args if not a.keyword and a.kind != "flag"]
    if len(positional) > len(slots):
        raise ValueError(f"/{name} takes {len(slots)} positional values")
    given = {a.name: str(v) for a, v in zip(slots, positional, strict=False)}
    for key, value in keywords.items():
        if value is None or value is False:
            continue
        if key not in {a.name for a in command.args}:
            raise ValueError(f"/{name} has no argument {key!r}")
        given[key] = "true" if value is True else str(value)
    values = tuple((a.name, given[a.name]) for a in command.args if a.name in given)
    return Span(chat_text(command, values), "code", Usage(command.name, values))


def usage(name: str) -> Span:
    """The command's whole usage line, every argument with its placeholder."""
    command = _command(name)
    return Span(command.usage(), "code", Usage(command.name, template=True))


def example(text: str) -> Span:
    """A declared example ("/habit add Read every=day"), read with the chat-text parser."""
    found, used = REGISTRY.resolve(split_command(text)[0])
    if found is None:
        raise ValueError(f"example {text!r} names no command")
    rest = text.strip().lstrip("/").split(None, used)
    values = parse_text(found, rest[used] if len(rest) > used else "")
    ordered = tuple((a.name, values[a.name]) for a in found.args if a.name in values)
    return Span(text, "code", Usage(found.name, ordered))


def chat_text(command: Command, values: tuple[tuple[str, str], ...]) -> str:
    args = {a.name: a for a in command.args}
    words = [f"/{command.name}"]
    for name, value in values:
        arg = args[name]
        if arg.kind == "flag":
            words.append(name)
        elif arg.keyword:
            words.append(f"{name}={value}")
        else:
            words.append(value)
    return " ".join(words)


def _command(name: str) -> Command:
    command = REGISTRY.get(name)
    if command is None:
        raise ValueError(f"no command {name!r}")
    return command


class Refused(InvalidInput):
    """A refusal whose message shows commands to type: raised like any InvalidInput (the unit of
    work rolls back), answered with its Reply so each platform writes the commands its way."""

    def __init__(self, *parts: str | Span) -> None:
        self.reply = Reply.text(*parts, error=True)
        super().__init__(self.reply.plain())


def answer_slot(command: Command, given: dict[str, str]) -> str:
    """Which argument the text typed into a button's form (Discord) or a reply (Telegram)
    fills: the first required one the button left open, else its first free-text one."""
    for arg in command.args:
        if arg.required and arg.name not in given:
            return arg.name
    return next(
        (a.name for a in command.args if a.kind == "text" and a.name not in given), "text"
    )
