"""Reply -> terminal text. Buttons are numbered; typing the number presses them."""

from __future__ import annotations

from bots.reply import Button, Reply

_STYLES = {"bold": ("\033[1m", "\033[0m"), "italic": ("\033[3m", "\033[0m")}


def render(reply: Reply, color: bool = False, first_number: int = 1) -> tuple[str, list[Button]]:
    lines = []
    for line in reply.lines:
        text = ""
        for span in line:
            start, end = _STYLES.get(span.style, ("", "")) if color else ("", "")
            text += f"{start}{span.text}{end}"
        lines.append(text)
    if reply.image_alt:
        lines.append(reply.image_alt)
    for b in (b for row in reply.buttons for b in row if b.url):
        lines.append(f"{b.label}: {b.url}")  # a link: open it in a browser
    # Typing is asking; a link is opened, not pressed.
    buttons = [b for row in reply.buttons for b in row if b.ask is None and b.url is None]
    if buttons:
        lines.append(
            "  ".join(f"[{i}] {b.label}" for i, b in enumerate(buttons, start=first_number))
        )
    return "\n".join(lines), buttons
