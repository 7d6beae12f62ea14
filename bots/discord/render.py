"""Reply -> Discord messages: escaped markdown split at 2,000 characters, the image as an
attachment, buttons as a view of persistent dynamic items.

Every plain span is escaped (habit names, titles and user names are user text), so a name like
``*_x_*`` shows as typed and never breaks the formatting around it; mentions are never
resolved (each send passes ``AllowedMentions.none()``), so ``@everyone`` in a name pings nobody.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import discord

from bots.actions import button_data
from bots.commands import Deps
from bots.discord.names import slash_text
from bots.reply import Attachment, Button, Line, Reply, Span

log = logging.getLogger("habitbot.discord")

TEXT_LIMIT = 2000  # message content
LABEL_LIMIT = 80  # button label
CUSTOM_ID_LIMIT = 100
MAX_ROWS = 5  # action rows per message
MAX_ROW = 5  # buttons per row
ALT_LIMIT = 1024  # attachment description (alt text)
PREFIX = "hb:"
NO_MENTIONS = discord.AllowedMentions.none()
_MARKS = {"bold": "**", "italic": "*", "code": "`"}
_MENTION = re.compile(r"<(?=[@#]|a?:\w+:\d|t:-?\d|/\w)")


def dc_len(text: str) -> int:
    """Length as Discord's clients count it (JavaScript: UTF-16 code units); never less than
    the code point count, so a chunk that fits here fits there."""
    return len(text.encode("utf-16-le")) // 2


def span_md(span: Span) -> str:
    if span.usage is not None:  # a command to type: the slash command with its options
        span = Span(slash_text(span.usage), "code")
    if not span.text:
        return ""
    if span.style == "code":
        return _code(span.text)
    text = _escape(span.text)
    mark = _MARKS.get(span.style, "")
    if mark and span.text.strip() != span.text:
        # "** x**" is not bold in Discord: keep the surrounding spaces outside the marks.
        lead = span.text[: len(span.text) - len(span.text.lstrip())]
        trail = span.text[len(span.text.rstrip()) :]
        inner = span_md(Span(span.text.strip(), span.style)) if span.text.strip() else ""
        return f"{lead}{inner}{trail}"
    return f"{mark}{text}{mark}"


def _escape(text: str) -> str:
    """User text shown as typed: markdown escaped, and mentions (<@1>, <@&2>, <#3>, <:e:4>,
    <t:5>, </cmd:6>) shown as raw text instead of pills (a backslash, which Discord hides)."""
    return _MENTION.sub(r"\\<", discord.utils.escape_markdown(text))


def _code(text: str) -> str:
    """Monospace that copies back exactly: backticks inside need a double-backtick span (padded
    where the text starts or ends with one); a run of two cannot be in any inline code span, so
    such text is shown escaped instead."""
    if "`" not in text:
        return f"`{text}`"
    if "``" in text:
        return _escape(text)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"``{pad}{text}{pad}``"


def line_md(line: Line) -> str:
    return "".join(span_md(s) for s in line)


def chunks(reply: Reply, limit: int = TEXT_LIMIT) -> list[str]:
    """The reply's text as messages of at most `limit` characters, cut between lines; a line
    longer than that is cut between spans, and a span longer than that is cut hard (each piece
    keeps its style). Blank lines at a message's edges are dropped."""
    pieces: list[str] = []
    for line in reply.lines:
        if line and all(s.chat_only for s in line):
            continue  # about typed chat text (aliases): nothing a slash command user can type
        pieces.extend(_cut_line(line, limit))
    out: list[str] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        extra = dc_len(piece) + (1 if current else 0)
        if current and size + extra > limit:
            _flush(current, out)
            current, size, extra = [], 0, dc_len(piece)
        current.append(piece)
        size += extra
    _flush(current, out)
    return out


def _flush(lines: list[str], out: list[str]) -> None:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    if lines:
        out.append("\n".join(lines))


def _cut_line(line: Line, limit: int) -> list[str]:
    rendered = line_md(line)
    if dc_len(rendered) <= limit:
        return [rendered]
    out: list[str] = []
    current = ""
    for span in line:
        for piece in _cut_span(span, limit):
            if current and dc_len(current) + dc_len(piece) > limit:
                out.append(current)
                current = ""
            current += piece
    if current:
        out.append(current)
    return out


def _cut_span(span: Span, limit: int) -> list[str]:
    rendered = span_md(span)
    if dc_len(rendered) <= limit:
        return [rendered]
    # Escaping at most doubles a character (a backslash each), marks add at most 4.
    step = max(1, (limit - 4) // 4)  # //4: a surrogate pair is 2 units, escaped up to 4
    return [
        span_md(Span(span.text[i : i + step], span.style)) for i in range(0, len(span.text), step)
    ]


# ------------------------------------------------------------------ buttons
class ActionButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"hb:(?P<action>.+)"):
    """Every Habitbot button. The action lives in the custom_id ("hb:done|#12", or "hb:t:<token>"
    for a stored long one), so a button on a message sent before a restart still works: the
    client registers this class with add_dynamic_items and discord.py rebuilds the item from
    the pressed custom_id."""

    def __init__(self, data: str, label: str = "·") -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:LABEL_LIMIT] or "·",
                style=discord.ButtonStyle.primary,
                custom_id=f"{PREFIX}{data}",
            )
        )
        self.data = data

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Button[Any],
        match: re.Match[str],
    ) -> ActionButton:
        return cls(match["action"], item.label or "·")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        from bots.discord.handlers import on_button  # handlers imports this module

        await on_button(interaction, self.data)


ASK_PREFIX = "hq:"
ASK_LIMIT = 300  # characters typed into the form


class AnswerForm(discord.ui.Modal):
    """The form an asking button opens: one text field; submitting runs the button's action
    with the text (a question's answer: Discord reads no chat text without a privileged
    intent)."""

    def __init__(self, data: str, title: str, label: str) -> None:
        super().__init__(title=title[:45] or "Answer", timeout=900)
        self.data = data
        self.field: discord.ui.TextInput[AnswerForm] = discord.ui.TextInput(
            label=label[:45] or "Your answer",
            style=discord.TextStyle.paragraph,
            max_length=ASK_LIMIT,
            custom_id="answer",
        )
        self.add_item(self.field)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        from bots.discord.handlers import on_answer  # handlers imports this module

        await on_answer(interaction, self.data, self.field.value)


class AskButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"hq:(?P<action>.+)"):
    """A button that asks for text first: pressing it opens an AnswerForm. Rebuilt from its
    custom_id like ActionButton, so it works on messages sent before a restart."""

    def __init__(self, data: str, label: str = "·", ask: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                label=label[:LABEL_LIMIT] or "·",
                style=discord.ButtonStyle.success,
                custom_id=f"{ASK_PREFIX}{data}",
            )
        )
        self.data = data
        self.ask = ask or "Your answer"

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Button[Any],
        match: re.Match[str],
    ) -> AskButton:
        return cls(match["action"], item.label or "·")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        title = self.item.label or "Answer"
        await interaction.response.send_modal(AnswerForm(self.data, title, self.ask))


def _layout(buttons: list[list[Button]]) -> list[list[Button]]:
    """Discord allows 5 rows of 5: keep the reply's rows when they fit, else pack 5 a row."""
    rows = [row for row in buttons if row]
    if len(rows) <= MAX_ROWS and all(len(r) <= MAX_ROW for r in rows):
        return rows
    flat = [b for row in rows for b in row]
    if len(flat) > MAX_ROWS * MAX_ROW:
        log.warning("reply has %d buttons; Discord shows %d", len(flat), MAX_ROWS * MAX_ROW)
    flat = flat[: MAX_ROWS * MAX_ROW]
    return [flat[i : i + MAX_ROW] for i in range(0, len(flat), MAX_ROW)]


async def view_for(deps: Deps, reply: Reply) -> discord.ui.View | None:
    """The reply's buttons as a persistent view; opens a unit of work only for long actions."""
    rows = _layout(reply.buttons)
    if not rows:
        return None
    carried = await button_data(
        deps,
        (b.action for row in rows for b in row if b.url is None),
        lambda d: len(PREFIX + d) <= CUSTOM_ID_LIMIT,
        reply.owner,
    )
    view = discord.ui.View(timeout=None)
    seen: set[str] = set()
    for number, row in enumerate(rows):
        for button in row:
            if button.url:  # a link button opens the page; it carries no action
                link: discord.ui.Button[Any] = discord.ui.Button(
                    label=button.label[:LABEL_LIMIT], url=button.url, row=number
                )
                view.add_item(link)
                continue
            data = carried[button.action.encode()]
            if data in seen:  # custom_ids must be unique within a message
                continue
            seen.add(data)
            item: ActionButton | AskButton = (
                AskButton(data, button.label, button.ask)
                if button.ask
                else ActionButton(data, button.label)
            )
            item.item.row = number
            view.add_item(item)
    return view


# ------------------------------------------------------------------ cards
COLOURS = {"blue": 0x5865F2, "green": 0x57F287, "gold": 0xFEE75C, "grey": 0x99AAB5}
TITLE_LIMIT, FIELD_NAME_LIMIT, FIELD_LIMIT, FIELDS = 256, 256, 1024, 25
DESCRIPTION_LIMIT, EMBED_LIMIT = 4096, 6000


def _field(line: Line) -> tuple[str, str]:
    """A bold span names the field; else the text before ": ". The rest is its value."""
    spans = [sp for sp in line if sp.text.strip() not in ("•", "")]
    named = next((i for i, sp in enumerate(spans) if sp.style == "bold"), None)
    if named is not None:
        name, rest = spans[named].text, spans[named + 1 :]
    else:
        text = "".join(sp.text for sp in spans)
        name, _, value = text.partition(": ")
        rest = [Span(value)]
    value = line_md(tuple(rest)).lstrip(":—- ").strip()
    return name.strip() or "·", value or "·"


def embed_for(reply: Reply) -> discord.Embed | None:
    """The reply as an embed when it is a card and fits Discord's embed limits, else None (it
    then goes out as text)."""
    card = reply.card
    if card is None or not 0 <= card.title < len(reply.lines):
        return None
    title = "".join(sp.text for sp in reply.lines[card.title]).strip()
    fields = [_field(reply.lines[i]) for i in card.fields if 0 <= i < len(reply.lines)]
    skip = {card.title, *card.fields}
    body = [
        line_md(line)
        for i, line in enumerate(reply.lines)
        if i not in skip and not (line and all(sp.chat_only for sp in line))
    ]
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    description = "\n".join(body)
    size = dc_len(title) + dc_len(description) + sum(dc_len(n) + dc_len(v) for n, v in fields)
    if (
        not title
        or dc_len(title) > TITLE_LIMIT
        or dc_len(description) > DESCRIPTION_LIMIT
        or len(fields) > FIELDS
        or any(dc_len(n) > FIELD_NAME_LIMIT or dc_len(v) > FIELD_LIMIT for n, v in fields)
        or size > EMBED_LIMIT
    ):
        return None
    embed = discord.Embed(
        title=title, description=description or None, colour=COLOURS.get(card.colour)
    )
    for name, value in fields:
        embed.add_field(name=name, value=value, inline=False)
    if reply.image is not None:
        embed.set_image(url=f"attachment://{reply.image_name or 'image.png'}")
    return embed


# ------------------------------------------------------------------ whole messages
@dataclass
class Rendered:
    """A reply ready to send: text chunks; the image, the files and the view go with the last."""

    texts: list[str]
    image: bytes | None = None
    image_name: str = "image.png"
    image_alt: str | None = None
    view: discord.ui.View | None = None
    ephemeral: bool = False
    error: bool = False  # a refusal: never replaces the message a button sat on
    attachments: list[Attachment] = field(default_factory=list)
    embed: discord.Embed | None = None  # a card: one message, instead of the text chunks

    def file(self) -> discord.File | None:
        """A fresh File each time: discord.py consumes the stream when it sends one."""
        if self.image is None:
            return None
        alt = (self.image_alt or "")[:ALT_LIMIT] or None
        return discord.File(io.BytesIO(self.image), filename=self.image_name, description=alt)

    def files(self) -> list[discord.File]:
        image = self.file()
        attached = [discord.File(io.BytesIO(a.data), filename=a.name) for a in self.attachments]
        return ([image] if image is not None else []) + attached

    def messages(self) -> list[dict[str, Any]]:
        """Keyword arguments for each message: content, plus files/view on the last one."""
        texts = [""] if self.embed is not None else self.texts or [""]
        out: list[dict[str, Any]] = [
            {"content": text, "allowed_mentions": NO_MENTIONS} for text in texts
        ]
        last = out[-1]
        if self.embed is not None:
            last["embed"] = self.embed
            last["content"] = None
        files = self.files()
        if files:
            last["files"] = files
        if self.view is not None:
            last["view"] = self.view
        if not last["content"] and self.embed is None:
            # Discord refuses a message with nothing in it; an attachment alone is fine.
            last["content"] = None if files else "✅"
        return out


async def render(deps: Deps, reply: Reply, ephemeral: bool = False) -> Rendered:
    return Rendered(
        texts=chunks(reply),
        embed=embed_for(reply),
        image=reply.image,
        image_name=reply.image_name or "image.png",
        image_alt=reply.image_alt,
        view=await view_for(deps, reply),
        ephemeral=ephemeral,
        attachments=list(reply.files),
    )
