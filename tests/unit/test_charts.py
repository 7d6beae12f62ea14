import io
from datetime import date, timedelta

import pytest
from PIL import Image, ImageFont

from bots import charts
from bots.charts import bar_chart_png, grid_text, heatmap_png, heatmap_text

TODAY = date(2026, 3, 4)  # a Wednesday


def history(days: int = 120) -> dict[date, float]:
    return {TODAY - timedelta(days=i): (1.0 if i % 3 else 0.5) for i in range(days) if i % 5}


def open_png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_heatmap_png_is_a_small_valid_png() -> None:
    img = open_png(heatmap_png(history(), TODAY, title="💧 Drink water"))
    assert img.format == "PNG"
    assert 400 <= img.width <= 800 and 120 <= img.height <= 240


def test_heatmap_png_leaves_future_days_blank() -> None:
    img = open_png(heatmap_png({TODAY: 1.0}, TODAY, weeks=1)).convert("RGB")
    # Column 0: Wednesday (today) is coloured, Sunday (future) is background.
    x = 34 + 8
    wed, sun = img.getpixel((x, 34 + 2 * 19 + 8)), img.getpixel((x, 34 + 6 * 19 + 8))
    assert wed != (255, 255, 255) and sun == (255, 255, 255)


def test_heatmap_text_shape_and_symbols() -> None:
    text = heatmap_text({TODAY: 1.0, TODAY - timedelta(days=1): 0.4}, TODAY)
    lines = text.split("\n")
    assert [line[:2] for line in lines] == ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
    assert all(len(line) <= 40 for line in lines)
    assert {len(line) for line in lines} == {3 + 26}
    assert lines[2][-1] == "█" and lines[1][-1] == "▒" and lines[0][-1] == "·"
    assert lines[6][-1] == " "  # Sunday of this week is in the future


@pytest.mark.parametrize(
    "label", ["Read", "💧💧💧 " * 20, "שלום עולם", "line\nbreak\x00", "", "a" * 500]
)
def test_bar_chart_survives_odd_labels(label: str) -> None:
    img = open_png(bar_chart_png([(label, 0.5), ("Other", 1.7), ("Neg", -1.0)], title=label))
    assert img.width > 200 and img.height > 60


def test_bar_chart_with_bitmap_font_and_no_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    # Systems without FreeType fall back to a Latin-1 bitmap font.
    monkeypatch.setattr(charts, "_font", ImageFont.load_default_imagefont)
    open_png(bar_chart_png([("💧 שלום…", 0.5)], title="Über 💪"))
    open_png(heatmap_png({}, TODAY, title="🔥"))
    open_png(bar_chart_png([]))


def test_bar_chart_caps_rows() -> None:
    many = open_png(bar_chart_png([(f"h{i}", 0.1) for i in range(50)]))
    ten = open_png(bar_chart_png([(f"h{i}", 0.1) for i in range(10)]))
    assert many.size == ten.size


def test_grid_text_shape() -> None:
    days = [date(2026, 3, 1) + timedelta(days=i) for i in range(7)]
    cells = {(0, days[0]): True, (0, days[1]): False, (1, days[2]): None, (1, days[3]): True}
    text = grid_text(["Read", "💧 Water"], days, cells)
    lines = text.split("\n")
    assert len(lines) == 3
    assert lines[0].split() == [str(n) for n in range(1, 8)]
    assert lines[1].split()[1:] == ["■", "□", "·", "·", "·", "·", "·"]
    assert lines[2].split()[-7:] == ["·", "·", "·", "■", "·", "·", "·"]
    # Marks line up under the day numbers (Read has no wide chars).
    assert lines[1].index("■") == lines[0].index("1")


def _box(font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> tuple[object, bytes]:
    missing = font.getmask("\U000f0000")  # private use: the font's missing-glyph box
    return missing.size, bytes(missing)


def test_the_chart_font_draws_latin_greek_and_cyrillic() -> None:
    # Before: Pillow's default font drew a box for the em dash in every heatmap title, for
    # "Läufer"'s neighbours beyond Latin-1, and for all Greek and Cyrillic.
    font = charts._font()
    assert isinstance(font, ImageFont.FreeTypeFont)
    box = _box(font)
    for char in "Zähne Läufer — … ß é ñ ł č ğ Ωμέγα Привет Їжак €":
        if not char.isspace():
            mask = font.getmask(char)
            assert (mask.size, bytes(mask)) != box, f"{char!r} is drawn as a box"


@pytest.mark.parametrize(
    ("with_emoji", "plain"),
    [
        ("💧 Drink water", "Drink water"),
        ("Zähne 🦷 putzen", "Zähne putzen"),
        ("🏃‍♀️ Läufer — Week 1", "Läufer — Week 1"),  # a joined emoji with its selector
        ("Привет 👋🏽", "Привет"),  # with a skin-tone modifier
    ],
)
def test_emoji_are_left_out_of_images_not_boxed(with_emoji: str, plain: str) -> None:
    # The image with the emoji is the image without it, pixel for pixel: no box where it was.
    assert heatmap_png(history(), TODAY, title=with_emoji) == heatmap_png(
        history(), TODAY, title=plain
    )
    assert bar_chart_png([(with_emoji, 0.5)], title=with_emoji) == bar_chart_png(
        [(plain, 0.5)], title=plain
    )
