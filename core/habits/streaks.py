"""Streaks, missed days and completion rates, computed from check-in dates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from core.habits.schedule import Schedule

_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Streak:
    current: int
    best: int
    unit: Literal["day", "week"]
    # For N times a week: check-ins so far this week, of `times`, so a week under way reads
    # "1/3 this week" rather than a bare "0 weeks".
    this_week: int = 0
    times: int = 0


def _days(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += _DAY


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def streak(
    schedule: Schedule,
    done: Collection[date],
    today: date,
    start: date,
    frozen: Collection[date] = (),
) -> Streak:
    """Current and best run of met periods in [start, today].

    One forward pass: the run left at the end is the current streak, so
    current <= best always holds. The still-open period (today / this week)
    only ever adds, never breaks.
    """
    if schedule.weekly:
        return _weekly_streak(schedule.times, done, today, start)
    done_set, frozen_set = set(done), set(frozen)
    run = best = 0
    for d in _days(start, today):
        if not schedule.is_scheduled(d):
            continue  # unscheduled days (and check-ins on them) are neutral
        if d in done_set:
            run += 1
            best = max(best, run)
        elif d not in frozen_set and d != today:
            run = 0
    return Streak(run, best, "day")


def _weekly_streak(times: int, done: Collection[date], today: date, start: date) -> Streak:
    per_week = Counter(_monday(d) for d in set(done) if start <= d <= today)
    this_week = _monday(today)
    run = best = 0
    week = _monday(start)
    while week <= this_week:
        if per_week[week] >= times:
            run += 1
            best = max(best, run)
        elif week != this_week:
            run = 0
        week += 7 * _DAY
    return Streak(run, best, "week", this_week=per_week[this_week], times=times)


def missed_scheduled_days(
    schedule: Schedule,
    done: Collection[date],
    frozen: Collection[date],
    first: date,
    last: date,
) -> list[date]:
    """Scheduled days in [first, last] neither done nor frozen (what a freeze could cover)."""
    if schedule.weekly:
        return []  # freezes only apply to day-based schedules
    covered = set(done) | set(frozen)
    return [d for d in _days(first, last) if schedule.is_scheduled(d) and d not in covered]


def completion_rate(
    schedule: Schedule,
    done: Collection[date],
    today: date,
    start: date,
    days: int,
) -> float | None:
    """Share of scheduled days met over the last `days` days (None if nothing was due).

    Today only enters the denominator once it is done, so an open day never
    lowers the rate.
    """
    first = max(start, today - (days - 1) * _DAY)
    done_set = {d for d in done if first <= d <= today}
    last = today if today in done_set else today - _DAY
    if schedule.weekly:
        span = (last - first).days + 1
        if span <= 0:
            return None
        return min(1.0, len(done_set) / (schedule.times * span / 7))
    due = [d for d in _days(first, last) if schedule.is_scheduled(d)]
    if not due:
        return None
    return sum(d in done_set for d in due) / len(due)
