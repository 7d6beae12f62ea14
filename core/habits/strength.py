"""Habit strength, the exponentially smoothed score used by Loop Habit Tracker."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta

from core.habits.schedule import Schedule


def strength(schedule: Schedule, values: Mapping[date, float], start: date, today: date) -> float:
    """Score in 0..1; a perfect daily habit reaches 0.5 after 13 days.

    `values[d]` is 1.0 for a done yes/no day or amount/target for a measurable
    habit. Each day's input is the rolling sum over the schedule's period
    divided by the times required in it, so a mon,wed,fri habit is not
    penalised on Tuesday.
    """
    multiplier = 0.5 ** (math.sqrt(schedule.frequency) / 13)
    period, times = schedule.period_days, schedule.times
    window: list[float] = []  # values of the last `period` days, oldest first
    score = 0.0
    day = start
    while day <= today:
        raw = values.get(day, 0.0)
        # Negative or NaN input would drag the score outside 0..1 (NaN > 0 is False).
        window.append(raw if raw > 0 else 0.0)
        if len(window) > period:
            window.pop(0)
        v = min(1.0, sum(window) / times)
        score = score * multiplier + v * (1 - multiplier)
        day += timedelta(days=1)
    return score
