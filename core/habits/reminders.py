"""When a habit's next reminder falls due, in UTC, from local times (zoneinfo, DST-safe)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.habits.schedule import Schedule


def parse_times(remind_at: str | None) -> list[time]:
    if not remind_at:
        return []
    return sorted(time.fromisoformat(t) for t in remind_at.split(","))


def next_reminder_at(
    remind_at: str | None, schedule: Schedule, tz: str, after: datetime
) -> datetime | None:
    """The first reminder strictly after `after` on a scheduled local day.

    A time that does not exist (spring forward) resolves to the same instant as the time
    just after the gap; a time that happens twice (autumn) fires at its first occurrence
    only, because the fold=0 instant is the one we ever compute.
    """
    times = parse_times(remind_at)
    if not times:
        return None
    zone = ZoneInfo(tz)
    day = after.astimezone(zone).date()
    for offset in range(9):
        current = day + timedelta(days=offset)
        if not schedule.is_scheduled(current):
            continue
        for t in times:
            due = datetime.combine(current, t, zone).astimezone(UTC)
            if due > after:
                return due
    return None
