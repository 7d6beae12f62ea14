"""A challenge's calendar: its scheduled days, and which of them count "so far"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.habits.schedule import Schedule, parse_schedule
from core.storage.models import Challenge

MAX_DAYS = 365


def schedule_of(challenge: Challenge) -> Schedule:
    return parse_schedule(challenge.schedule)


def scheduled_days(
    challenge: Challenge, first: date | None = None, last: date | None = None
) -> list[date]:
    schedule = schedule_of(challenge)
    day = max(challenge.start_date, first or challenge.start_date)
    end = min(challenge.end_date, last or challenge.end_date)
    days = []
    while day <= end:
        if schedule.is_scheduled(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)


def challenge_today(challenge: Challenge, now: datetime) -> date:
    """The challenge's own calendar day: everyone is scored against the same date."""
    return now.astimezone(ZoneInfo(challenge.timezone)).date()
