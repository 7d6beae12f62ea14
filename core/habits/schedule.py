"""Habit schedules: which days a habit is due, parsed from short user text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

ALL_DAYS = frozenset(range(7))
WEEKDAYS = frozenset(range(5))
WEEKENDS = frozenset({5, 6})

_SHORT = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES: dict[str, int] = {
    name: i
    for i, names in enumerate(
        (
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "weds", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        )
    )
    for name in names
}
_DAILY_WORDS = {"day", "daily", "everyday", "every day"}
# ASCII digits only: \d would also accept other scripts' digits.
_WEEKLY_RE = re.compile(r"([0-9]{1,2})\s*x?\s*/\s*(?:week|wk|w)")
_MAX_INPUT = 200  # longer input is junk; don't bother tokenising it


@dataclass(frozen=True)
class Schedule:
    # 0=Mon..6=Sun. N/week schedules use all seven days: any day counts.
    weekdays: frozenset[int]
    times_per_week: int | None = None

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= ALL_DAYS:
            raise ValueError("weekdays must be a non-empty subset of 0..6")
        if self.times_per_week is not None and (
            not 1 <= self.times_per_week <= 6 or self.weekdays != ALL_DAYS
        ):
            # 7/week is just daily; keeping one representation keeps equality meaningful.
            raise ValueError("times_per_week must be 1..6 with all weekdays")

    @property
    def weekly(self) -> bool:
        return self.times_per_week is not None

    def is_scheduled(self, day: date) -> bool:
        return self.weekly or day.weekday() in self.weekdays

    @property
    def times(self) -> int:
        if self.times_per_week is not None:
            return self.times_per_week
        return 1 if self.weekdays == ALL_DAYS else len(self.weekdays)

    @property
    def period_days(self) -> int:
        return 1 if self.weekdays == ALL_DAYS and not self.weekly else 7

    @property
    def frequency(self) -> float:
        return self.times / self.period_days

    def text(self) -> str:
        if self.times_per_week is not None:
            return f"{self.times_per_week}/week"
        if self.weekdays == ALL_DAYS:
            return "day"
        if self.weekdays == WEEKDAYS:
            return "weekdays"
        if self.weekdays == WEEKENDS:
            return "weekends"
        return ",".join(_SHORT[d] for d in sorted(self.weekdays))

    def describe(self) -> str:
        n = self.times_per_week
        if n is not None:
            return {1: "once a week", 2: "twice a week"}.get(n, f"{n} times a week")
        if self.weekdays == ALL_DAYS:
            return "every day"
        if self.weekdays == WEEKDAYS:
            return "on weekdays"
        if self.weekdays == WEEKENDS:
            return "on weekends"
        return ", ".join(_SHORT[d].title() for d in sorted(self.weekdays))


DAILY = Schedule(ALL_DAYS)


def _error(text: str) -> ValueError:
    shown = " ".join(text.split())  # one line, even if the user pasted newlines
    if len(shown) > 20:
        shown = shown[:20] + "…"
    return ValueError(
        f"Unknown schedule '{shown}'. Use day, weekdays, weekends, mon,wed,fri or 3/week."
    )


def parse_schedule(text: str) -> Schedule:
    """Parse user text like "mon,wed,fri" or "3/week"; ValueError on anything else."""
    norm = " ".join(text.lower().split())
    if not norm or len(norm) > _MAX_INPUT:
        raise _error(text)
    if norm in _DAILY_WORDS:
        return DAILY
    if norm == "weekdays":
        return Schedule(WEEKDAYS)
    if norm == "weekends":
        return Schedule(WEEKENDS)
    if m := _WEEKLY_RE.fullmatch(norm):
        n = int(m.group(1))
        if not 1 <= n <= 7:
            raise _error(text)
        return DAILY if n == 7 else Schedule(ALL_DAYS, n)
    tokens = [t for t in re.split(r"[,\s]+", norm) if t]
    if not tokens or any(t not in _DAY_NAMES for t in tokens):
        raise _error(text)
    return Schedule(frozenset(_DAY_NAMES[t] for t in tokens))
