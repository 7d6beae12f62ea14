"""Small charts for replies: PNG images (Pillow) and monospace text versions."""

from __future__ import annotations

import functools
import html
import io
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import fontpkg
from PIL import Image, ImageDraw, ImageFont

_BG = (255, 255, 255)
_EMPTY = (235, 237, 240)
_LOW = (155, 233, 168)
_HIGH = (33, 110, 57)
_INK = (36, 41, 47)
_MUTED = (110, 118, 129)
_DAY_LABELS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
MAX_BARS = 10  # more rows would not be readable in a chat image

Font = ImageFont.ImageFont | ImageFont.FreeTypeFont


_FONT_SIZE = 12
# A private-use character no text font maps: what it renders is the font's "missing" box.
_UNMAPPED = "\U000f0000"
# Emoji presentation selectors and joiners: only meaningful next to an emoji, which is dropped.
_JOINERS = re.compile("[\u200d\ufe00-\ufe0f]")


@functools.cache
def _font() -> Font:
    """Noto Sans (Latin, Greek, Cyrillic), shipped by the fontpkg-noto-sans package; Pillow's
    built-in font if that cannot load."""
    try:
        return ImageFont.truetype(str(fontpkg.path("Noto Sans")), _FONT_SIZE)
    except (fontpkg.FontpkgError, OSError):
        return ImageFont.load_default()


def _clean(text: str, limit: int) -> str:
    """One printable line of at most `limit` characters."""
    text = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@functools.lru_cache(maxsize=4096)
def _covered(font: Font, char: str) -> bool:
    """Whether the font has a glyph for `char`, rather than drawing its missing box."""
    try:
        mask = font.getmask(char)
    except (UnicodeError, ValueError):  # the bitmap fallback only encodes Latin-1
        return False
    missing = font.getmask(_UNMAPPED) if isinstance(font, ImageFont.FreeTypeFont) else None
    return missing is None or (mask.size, bytes(mask)) != (missing.size, bytes(missing))


def _drawable(text: str, font: Font) -> str:
    """The text without what the font cannot draw (emoji, scripts it lacks): never a box."""
    text = _JOINERS.sub("", text)
    kept = "".join(c for c in text if c.isspace() or _covered(font, c))
    return " ".join(kept.split())


@functools.lru_cache(maxsize=4096)
def _length(font: Font, text: str) -> float:
    """Pixel width of `text` (FreeType measures slowly: a year's month labels add up)."""
    return font.getlength(text)


def _fit(text: str, font: Font, width: int) -> str:
    text = _drawable(text, font)
    while text and _length(font, text) > width:
        text = text[:-2] + "…" if len(text) > 1 else ""
        text = _drawable(text, font)
    return text


@functools.lru_cache(maxsize=4096)
def _mix(value: float) -> tuple[int, int, int]:
    if not value > 0:  # also catches NaN
        return _EMPTY
    t = min(1.0, value)
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(_LOW, _HIGH, strict=True))
    return r, g, b


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")  # optimize=True: 3% smaller, 2.5× the time
    return buf.getvalue()


def _first_monday(today: date, weeks: int) -> date:
    return today - timedelta(days=today.weekday(), weeks=weeks - 1)


@dataclass(frozen=True)
class Layout:
    """A chart as shapes: what both the PNG (chats) and the SVG (web pages) draw, so a picture
    looks the same everywhere."""

    width: int
    height: int
    texts: list[tuple[float, float, str, tuple[int, int, int]]]  # x, y (top), text, colour
    # x0, y0, x1, y1, fill, tooltip ("" for none): the SVG shows it on hover
    rects: list[tuple[float, float, float, float, tuple[int, int, int], str]]
    tooltips: bool = True  # the SVG gives each shape with a tip its own <title>


def heatmap_layout(
    values: Mapping[date, float], today: date, weeks: int = 26, title: str = ""
) -> Layout:
    """GitHub-style matrix: one column per ISO week (oldest left), rows Mon..Sun."""
    weeks = max(1, weeks)
    cell, pitch, left, top, margin = 16, 19, 34, 34, 8
    width = left + weeks * pitch + margin
    height = top + 7 * pitch + margin
    font = _font()
    out = Layout(width, height, [], [], tooltips=False)  # a year of day tips is too much page
    out.texts.append((margin, 2, _fit(_clean(title, 80), font, width - 2 * margin), _INK))
    for row in (0, 2, 4):
        out.texts.append((margin, top + row * pitch + 2, _DAY_LABELS[row], _MUTED))
    first = _first_monday(today, weeks)
    label_end = 0.0
    day, one = first, timedelta(days=1)
    rects, get = out.rects, values.get
    for col in range(weeks):
        x = left + col * pitch
        # Label a month at the first column whose Monday falls in it, unless it would overlap.
        if (col == 0 or day.day <= 7) and x >= label_end:
            name = day.strftime("%b")
            out.texts.append((x, top - 14, name, _MUTED))
            label_end = x + _length(font, name) + 4
        for row in range(7):
            if day > today:
                break  # the future stays blank (it is only ever the end of the last column)
            y = top + row * pitch
            rects.append((x, y, x + cell, y + cell, _mix(get(day, 0.0)), ""))
            day += one
    return out


def _draw_png(layout: Layout) -> bytes:
    img = Image.new("RGB", (layout.width, layout.height), _BG)
    draw = ImageDraw.Draw(img)
    font = _font()
    for x0, y0, x1, y1, fill, _tip in layout.rects:
        draw.rectangle((x0, y0, x1, y1), fill=fill)
    for x, y, text, colour in layout.texts:
        draw.text((x, y), text, fill=colour, font=font)
    return _png(img)


def _hex(colour: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def _draw_svg(layout: Layout, alt: str) -> str:
    """The same shapes as SVG markup, text escaped; `alt` is its accessible name. Text is set
    in currentColor-free fixed colours on a white card, like the PNG, so it reads in both
    page themes."""
    esc = html.escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {layout.width} {layout.height}" '
        f'width="{layout.width}" height="{layout.height}" role="img" aria-label="{esc(alt)}" '
        f'class="chart"><title>{esc(alt)}</title>'
        f'<rect width="{layout.width}" height="{layout.height}" fill="{_hex(_BG)}" rx="6"/>'
    ]
    # One path per colour, with cells as "M x y h w v h h -w z": a year of days is a few
    # paths, not 371 elements. Bars with a tooltip keep their own rect and <title>.
    paths: dict[tuple[int, int, int], list[str]] = {}
    for x0, y0, x1, y1, fill, tip in layout.rects:
        w, h = x1 - x0 + 1, y1 - y0 + 1
        if tip and layout.tooltips:
            parts.append(
                f'<rect x="{x0:g}" y="{y0:g}" width="{w:g}" height="{h:g}" fill="{_hex(fill)}">'
                f"<title>{esc(tip)}</title></rect>"
            )
        else:
            paths.setdefault(fill, []).append(f"M{x0} {y0}h{w}v{h}h-{w}z")
    for fill, cells in paths.items():
        parts.append(f'<path fill="{_hex(fill)}" d="{"".join(cells)}"/>')
    for x, y, text, colour in layout.texts:
        parts.append(
            f'<text x="{x:g}" y="{y + _FONT_SIZE:g}" fill="{_hex(colour)}" '
            f'font-family="Noto Sans, sans-serif" font-size="{_FONT_SIZE}">{esc(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def heatmap_png(
    values: Mapping[date, float], today: date, weeks: int = 26, title: str = ""
) -> bytes:
    return _draw_png(heatmap_layout(values, today, weeks, title))


def heatmap_svg(
    values: Mapping[date, float], today: date, weeks: int = 53, title: str = ""
) -> str:
    """The heatmap for a page: a year by default."""
    done = sum(1 for d, v in values.items() if v >= 1 and d <= today)
    days = "day" if done == 1 else "days"
    alt = f"{title}: activity matrix, {done} {days} done in the last {weeks} weeks"
    return _draw_svg(heatmap_layout(values, today, weeks, title), alt)


def heatmap_text(values: Mapping[date, float], today: date, weeks: int = 26) -> str:
    """The heatmap as 7 text lines: █ done, ▒ partial, · missed, blank for the future."""
    weeks = max(1, weeks)
    first = _first_monday(today, weeks)
    lines = []
    for row, label in enumerate(_DAY_LABELS):
        chars = []
        for col in range(weeks):
            day = first + timedelta(weeks=col, days=row)
            v = values.get(day, 0.0)
            chars.append(" " if day > today else "█" if v >= 1 else "▒" if v > 0 else "·")
        lines.append(f"{label} {''.join(chars)}")
    return "\n".join(lines)


def bar_chart_layout(rows: Sequence[tuple[str, float]], title: str = "") -> Layout:
    """Horizontal bars of values 0..1 shown as percentages; first MAX_BARS rows only."""
    rows = rows[:MAX_BARS]
    label_w, bar_w, pitch, top, margin = 150, 300, 22, 24, 8
    width = margin + label_w + bar_w + 50
    height = top + max(1, len(rows)) * pitch + margin
    font = _font()
    out = Layout(width, height, [], [])
    out.texts.append((margin, 4, _fit(_clean(title, 80), font, width - 2 * margin), _INK))
    if not rows:
        out.texts.append((margin, top + 4, "No data yet", _MUTED))
    for i, (label, value) in enumerate(rows):
        v = min(1.0, value) if value > 0 else 0.0  # clamps negatives and NaN
        y = top + i * pitch
        name = _fit(_clean(label, 24), font, label_w - 8)
        out.texts.append((margin, y + 4, name, _INK))
        x0 = margin + label_w
        out.rects.append((x0, y + 2, x0 + bar_w, y + pitch - 4, _EMPTY, ""))
        if v > 0:
            tip = f"{name}: {round(v * 100)}%"
            out.rects.append((x0, y + 2, x0 + round(bar_w * v), y + pitch - 4, _HIGH, tip))
        out.texts.append((x0 + bar_w + 6, y + 4, f"{round(v * 100)}%", _INK))
    return out


def bar_chart_png(rows: Sequence[tuple[str, float]], title: str = "") -> bytes:
    return _draw_png(bar_chart_layout(rows, title))


def bar_chart_svg(rows: Sequence[tuple[str, float]], title: str = "") -> str:
    shown = "; ".join(
        f"{label} {round(min(1.0, max(0.0, v)) * 100)}%" for label, v in rows[:MAX_BARS]
    )
    return _draw_svg(bar_chart_layout(rows, title), f"{title}: {shown}" if shown else title)


def _width(text: str) -> int:
    """Terminal columns: wide (emoji, CJK) chars take two, combining marks none."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )


def grid_text(
    row_labels: Sequence[str],
    days: Sequence[date],
    cells: Mapping[tuple[int, date], bool | None],
) -> str:
    """Rows × days progress grid: ■ done, □ missed, · not scheduled or future (None/missing)."""
    labels = [_clean(label, 14) for label in row_labels]
    pad = max((_width(label) for label in labels), default=0)
    header = " " * pad + " " + " ".join(f"{d.day:>2}" for d in days)
    lines = [header.rstrip()]
    for i, label in enumerate(labels):
        marks = []
        for d in days:
            cell = cells.get((i, d))
            marks.append(f"{'·' if cell is None else '■' if cell else '□':>2}")
        lines.append(label + " " * (pad - _width(label)) + " " + " ".join(marks))
    return "\n".join(lines)
