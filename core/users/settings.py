"""A user's settings: time zone, language, privacy, quiet hours, nudges."""

from __future__ import annotations

import re
from datetime import datetime

from core.errors import InvalidInput
from core.storage.models import User

LANGUAGES = ("en",)
PROFILE = ("public", "private")
DM_POLICIES = ("everyone", "following", "nobody")
# How /settings shows the DM policy: "following" means people the user follows may write.
DM_SHOWN = {"everyone": "everyone", "following": "people you follow", "nobody": "nobody"}
_QUIET = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)$")


def parse_quiet(text: str) -> tuple[int, int] | None:
    """'22:00-07:00' -> minutes after midnight (start, end); 'off' -> None."""
    if text.strip().lower() in {"off", "none", "no"}:
        return None
    found = _QUIET.match(text.strip())
    if not found:
        raise InvalidInput("Quiet hours look like quiet=22:00-07:00 (or quiet=off).")
    h1, m1, h2, m2 = (int(g) for g in found.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise InvalidInput("Quiet hours need a start and an end that differ.")
    return start, end


def format_minutes(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def quiet_text(user: User) -> str:
    if user.quiet_start is None or user.quiet_end is None:
        return "off"
    return f"{format_minutes(user.quiet_start)}-{format_minutes(user.quiet_end)}"


def in_quiet_hours(user: User, local: datetime) -> bool:
    if user.quiet_start is None or user.quiet_end is None:
        return False
    minute = local.hour * 60 + local.minute
    if user.quiet_start < user.quiet_end:
        return user.quiet_start <= minute < user.quiet_end
    return minute >= user.quiet_start or minute < user.quiet_end  # spans midnight
