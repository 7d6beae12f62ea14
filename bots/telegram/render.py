"""Reply -> Telegram HTML: escaped spans, split so every message fits Telegram's limits.

Telegram counts a message's length after parsing the HTML, in UTF-16 code units (like its
entity offsets), so chunks are measured on the visible text and tags never straddle a cut.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from bots.reply import Line, Reply, Span

TEXT_LIMIT = 4096  # sendMessage text
CAPTION_LIMIT = 1024  # sendPhoto caption
MAX_BUTTONS = 100  # per inline keyboard
MAX_ROW = 8  # buttons per keyboard row

_TAGS = {"bold": ("<b>", "</b>"), "italic": ("<i>", "</i>"), "code": ("<code>", "</code>")}


def tg_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Chunk:
    html: str
    length: int  # visible length, in UTF-16 code units


def span_html(span: Span) -> str:
    start, end = _TAGS.get(span.style, ("", ""))
    return f"{start}{html.escape(span.text, quote=False)}{end}"


def line_html(line: Line) -> str:
    return "".join(span_html(s) for s in line if s.text)


def chunks(reply: Reply, limit: int = TEXT_LIMIT) -> list[Chunk]:
    """The reply's text as HTML messages of at most `limit` visible units; blank ones dropped."""
    pieces: list[tuple[Line, int]] = []
    for line in reply.lines:
        pieces.extend(_cut_line(line, limit))
    out: list[Chunk] = []
    current: list[tuple[Line, int]] = []
    size = 0
    for line, length in pieces:
        extra = length + (1 if current else 0)  # the joining newline
        if current and size + extra > limit:
            _flush(current, out)
            current, size, extra = [], 0, length
        current.append((line, length))
        size += extra
    _flush(current, out)
    return out


def _flush(lines: list[tuple[Line, int]], out: list[Chunk]) -> None:
    # Blank lines at a chunk's edges show as nothing (Telegram trims them); drop them.
    while lines and not "".join(s.text for s in lines[0][0]).strip():
        lines = lines[1:]
    while lines and not "".join(s.text for s in lines[-1][0]).strip():
        lines = lines[:-1]
    if lines:
        length = sum(n for _, n in lines) + len(lines) - 1
        out.append(Chunk("\n".join(line_html(line) for line, _ in lines), length))


def _cut_line(line: Line, limit: int) -> list[tuple[Line, int]]:
    """A line longer than `limit` is cut hard, keeping each span's style on both sides."""
    length = sum(tg_len(s.text) for s in line)
    if length <= limit:
        return [(line, length)]
    out: list[tuple[Line, int]] = []
    current: list[Span] = []
    room = limit
    for span in line:
        text = span.text
        while text:
            head, text = _take(text, room)
            if head:
                current.append(Span(head, span.style))
                room -= tg_len(head)
            if room <= 0 or (text and not head):
                out.append((tuple(current), limit - room))
                current, room = [], limit
    if current:
        out.append((tuple(current), limit - room))
    return out


def _take(text: str, units: int) -> tuple[str, str]:
    """The longest prefix of `text` that fits `units`, never splitting a surrogate pair."""
    if tg_len(text) <= units:
        return text, ""
    used = 0
    for i, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:i], text[i:]
    return text, ""
