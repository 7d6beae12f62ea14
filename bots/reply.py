"""A platform-neutral reply: lines of lightly styled spans, buttons, an optional image, files.

Adapters render it (console text, Telegram HTML, Discord markdown); nothing here knows them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Literal

Style = Literal["plain", "bold", "italic", "code"]


@dataclass(frozen=True)
class Usage:
    """A command to type, as data: each adapter writes it in its platform's dialect (chat text
    `/habit add Read every=day`; on Discord the slash command with its options)."""

    command: str  # the registry's name, e.g. "habit add"
    values: tuple[tuple[str, str], ...] = ()  # (arg name, value or <placeholder>)
    template: bool = False  # the whole usage line: every argument, with placeholders


@dataclass(frozen=True)
class Span:
    text: str  # for a usage: its chat-text form (Telegram, console, plain text)
    style: Style = "plain"
    usage: Usage | None = None
    chat_only: bool = False  # true of typed chat text only (aliases): slash menus leave it out


Line = tuple[Span, ...]


def bold(text: object) -> Span:
    return Span(str(text), "bold")


def italic(text: object) -> Span:
    return Span(str(text), "italic")


def code(text: object) -> Span:
    return Span(str(text), "code")


@dataclass(frozen=True)
class Action:
    """What a button does: run `command` with `args` as the user who pressed it."""

    command: str
    args: str = ""

    def encode(self) -> str:
        return f"{self.command}|{self.args}" if self.args else self.command

    @classmethod
    def decode(cls, data: str) -> Action:
        command, _, args = data.partition("|")
        return cls(command, args)


@dataclass(frozen=True)
class Button:
    label: str
    action: Action
    # A button that asks for text first (its label): the text fills the action's first
    # required argument. Discord opens a form for it; chat platforms leave it out, since
    # there the person simply types.
    ask: str | None = None
    # A link button: opens `url` instead of running the action (Telegram url, Discord link
    # button, the console prints it). `web_app` is the Telegram Mini App to open in its place
    # (an https URL): Telegram then signs who opened it (bots/web/auth.py).
    url: str | None = None
    web_app: str | None = None


@dataclass(frozen=True)
class Attachment:
    """A file sent with the reply (Telegram document, Discord attachment, console file)."""

    name: str  # a safe file name: letters, digits, "-", "_", "."
    data: bytes
    mime: str = "application/octet-stream"


Colour = Literal["blue", "green", "gold", "grey"]


@dataclass
class Card:
    """The reply reads as a card where a platform has them (Discord embeds): line `title` is
    its title, the lines in `fields` are name/value pairs (a bold name, or text before ": "),
    the other lines its body, the image its picture. Text platforms show the lines as they are.
    """

    colour: Colour = "blue"
    title: int = 0  # indexes into Reply.lines
    fields: list[int] = field(default_factory=list)


@dataclass
class Reply:
    lines: list[Line] = field(default_factory=list)
    buttons: list[list[Button]] = field(default_factory=list)
    image: bytes | None = None
    image_name: str = "image.png"
    image_alt: str | None = None  # a text stand-in for terminals (e.g. a text heatmap)
    files: list[Attachment] = field(default_factory=list)
    private: bool = False  # holds private data: deliver in a private chat or ephemerally
    owner: int | None = None  # the core user its buttons are bound to (None: anyone may press)
    shared: bool = False  # its buttons are anyone's to press (a board's pages), not the asker's
    # Asked in a group, this answer only acknowledges (a check-in): where the platform can,
    # it is a reaction with this emoji (Telegram) or seen by the asker alone (Discord).
    ack: str | None = None
    error: bool = False
    # Reminders were just set: "missing" when the bot knows it cannot write to the user
    # privately, "check" when set from a group and it has not seen that it can. The adapter
    # tells the user how to fix it on its platform (bots/commands/format.py: unreachable).
    reach: Literal["check", "missing"] | None = None
    card: Card | None = None
    # On a chat platform, replying to this message runs this action with the reply's text
    # (Telegram: a relayed DM continues its conversation). Others ignore it.
    answer_to: Action | None = None
    # Holds user text kept encrypted at rest (a conversation's messages): its copy recorded in
    # the outbox (bots/answers.py) is encrypted too.
    sealed: bool = False

    @classmethod
    def text(cls, *parts: str | Span, error: bool = False) -> Reply:
        return cls(error=error).add(*parts)

    def add(self, *parts: str | Span) -> Reply:
        self.lines.append(tuple(p if isinstance(p, Span) else Span(p) for p in parts))
        return self

    def bullet(self, *parts: str | Span) -> Reply:
        return self.add("• ", *parts)

    def as_card(self, colour: Colour = "blue") -> Reply:
        """Show it as a card where the platform can; the first line is the title."""
        self.card = Card(colour, len(self.lines) - 1 if self.lines else 0)
        return self

    def mark_field(self) -> Reply:
        """The last line is a name/value field of the card."""
        if self.card is not None and self.lines:
            self.card.fields.append(len(self.lines) - 1)
        return self

    def blank(self) -> Reply:
        self.lines.append(())
        return self

    def button_row(self, *buttons: Button) -> Reply:
        if buttons:
            self.buttons.append(list(buttons))
        return self

    def extend(self, other: Reply) -> Reply:
        """Append another reply's lines and buttons (e.g. a badge notice after a check-in)."""
        if self.lines and other.lines:
            self.blank()
        if self.card is None and other.card is not None:  # its lines move down: so does the card
            shift = len(self.lines)
            card = other.card
            self.card = Card(card.colour, card.title + shift, [i + shift for i in card.fields])
        self.lines.extend(other.lines)
        self.buttons.extend(other.buttons)
        if self.image is None and other.image is not None:
            self.image, self.image_name = other.image, other.image_name
        self.image_alt = self.image_alt or other.image_alt
        self.files.extend(other.files)
        self.private = self.private or other.private
        self.owner = self.owner if self.owner is not None else other.owner
        self.reach = self.reach or other.reach
        self.sealed = self.sealed or other.sealed
        return self

    def plain(self) -> str:
        return "\n".join("".join(s.text for s in line) for line in self.lines)

    def to_data(self) -> dict[str, Any]:
        """JSON-safe, for an outbox row that must survive a restart (from_data reads it)."""
        data: dict[str, Any] = {"lines": [[_span_data(s) for s in line] for line in self.lines]}
        if self.buttons:
            data["buttons"] = [[_button_data(b) for b in row] for row in self.buttons]
        if self.image is not None:
            data["image"] = base64.b64encode(self.image).decode()
            data["image_name"] = self.image_name
        if self.image_alt is not None:
            data["image_alt"] = self.image_alt
        if self.files:
            data["files"] = [
                [f.name, base64.b64encode(f.data).decode(), f.mime] for f in self.files
            ]
        for flag in ("private", "error"):
            if getattr(self, flag):
                data[flag] = True
        if self.owner is not None:
            data["owner"] = self.owner
        if self.reach is not None:
            data["reach"] = self.reach
        if self.card is not None:
            data["card"] = [self.card.colour, self.card.title, self.card.fields]
        if self.ack is not None:
            data["ack"] = self.ack
        if self.answer_to is not None:
            data["answer_to"] = self.answer_to.encode()
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Reply:
        return cls(
            lines=[tuple(_span(item) for item in line) for line in data["lines"]],
            buttons=[[_button(item) for item in row] for row in data.get("buttons", [])],
            image=base64.b64decode(data["image"]) if "image" in data else None,
            image_name=data.get("image_name", "image.png"),
            image_alt=data.get("image_alt"),
            files=[
                Attachment(name, base64.b64decode(blob), mime)
                for name, blob, mime in data.get("files", [])
            ],
            private=bool(data.get("private")),
            owner=data.get("owner"),
            error=bool(data.get("error")),
            reach=data.get("reach"),
            card=Card(data["card"][0], data["card"][1], list(data["card"][2]))
            if "card" in data
            else None,
            ack=data.get("ack"),
            answer_to=Action.decode(data["answer_to"]) if "answer_to" in data else None,
        )


def _button_data(b: Button) -> list[Any]:
    """[label, command, args] and, when set, ask; a link button adds {"url", "web_app"}."""
    item: list[Any] = [b.label, b.action.command, b.action.args]
    if b.ask or b.url:
        item.append(b.ask)
    if b.url:
        item.append({"url": b.url, "web_app": b.web_app})
    return item


def _button(item: list[Any]) -> Button:
    label, command, args, *rest = item
    ask = rest[0] if rest else None
    link = rest[1] if len(rest) > 1 else {}
    return Button(label, Action(command, args), ask, link.get("url"), link.get("web_app"))


def _span_data(span: Span) -> list[Any]:
    """[text, style] for most spans; a usage or a chat-only span carries a third item."""
    if span.usage is None and not span.chat_only:
        return [span.text, span.style]
    extra: dict[str, Any] = {"chat_only": span.chat_only}
    if span.usage is not None:
        extra |= {
            "command": span.usage.command,
            "values": [list(pair) for pair in span.usage.values],
            "template": span.usage.template,
        }
    return [span.text, span.style, extra]


def _span(item: list[Any]) -> Span:
    text, style, *rest = item
    if not rest:
        return Span(text, style)
    extra = rest[0]
    usage = None
    if "command" in extra:
        values = tuple((name, value) for name, value in extra["values"])
        usage = Usage(extra["command"], values, extra["template"])
    return Span(text, style, usage, extra["chat_only"])


def split_text(text: str, limit: int) -> list[str]:
    """Split at line breaks so each chunk fits `limit`; a single overlong line is cut hard."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks
