"""Values to offer while an option is typed (Discord's autocomplete), for the kinds whose values
follow a pattern: schedules, times, dates. What was typed comes first when it reads right."""

from __future__ import annotations

from datetime import date, timedelta

from bots.commands.registry import Arg
from bots.parsing import convert
from core.errors import InvalidInput

SCHEDULES = (
    ("every day", "day"),
    ("weekdays (Mon-Fri)", "weekdays"),
    ("weekends", "weekends"),
    ("Mon, Wed, Fri", "mon,wed,fri"),
    ("Tue, Thu", "tue,thu"),
    ("3 times a week, any days", "3/week"),
    ("5 times a week, any days", "5/week"),
)
TIMES = ("07:00", "07:30", "08:00", "09:00", "12:00", "18:00", "20:00", "21:00", "22:00")
KINDS = ("schedule", "times", "date")


def suggestions(arg: Arg, typed: str, today: date, limit: int = 25) -> list[tuple[str, str]]:
    """(label, value) pairs for `arg` as `typed` so far; empty for kinds not listed in KINDS."""
    typed = typed.strip()
    offered: list[tuple[str, str]] = []
    if arg.kind == "schedule":
        offered = list(SCHEDULES)
    elif arg.kind == "times":
        offered = [(t, t) for t in TIMES] + [("off: no reminder", "off")]
    elif arg.kind == "date":
        offered = [(f"today ({today:%a %d %b})", "today")]
        offered += [(f"tomorrow ({today + timedelta(days=1):%a %d %b})", "tomorrow")]
        for ahead in range(2, 8):
            day = today + timedelta(days=ahead)
            offered.append((f"{day:%a %d %b %Y}", day.isoformat()))
    else:
        return []
    lowered = typed.lower()
    hits = [(label, value) for label, value in offered if lowered in f"{label} {value}".lower()]
    if typed and all(value != typed for _, value in hits):
        try:
            convert(arg, typed, today)
        except InvalidInput:
            pass
        else:  # a value of their own that reads right (21:15, mon,thu, 2026-05-01)
            hits.insert(0, (typed[:100], typed[:100]))
    return hits[:limit]
