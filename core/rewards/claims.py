"""The daily streak-claim cycle: which day of the 7-day cycle and how many gems."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

# Gems are stored as integer hundredths to avoid float drift in balances.
GEM_CYCLE: tuple[int, ...] = (10, 25, 40, 55, 70, 85, 100)


def next_cycle_day(last_claim: date | None, last_cycle_day: int, today: date) -> int:
    """Cycle day (1..7) for a claim today; only a claim yesterday continues the cycle."""
    if last_claim is not None and last_claim >= today:
        # A claim dated after today can happen when a user moves west; treat it as claimed.
        raise ValueError("already claimed today")
    if last_claim is None or last_claim != today - timedelta(days=1):
        return 1
    if not 1 <= last_cycle_day <= len(GEM_CYCLE):
        raise ValueError(f"cycle day must be 1..{len(GEM_CYCLE)}, got {last_cycle_day}")
    return last_cycle_day % len(GEM_CYCLE) + 1


def gems_for_cycle_day(day: int) -> int:
    if not 1 <= day <= len(GEM_CYCLE):
        raise ValueError(f"cycle day must be 1..{len(GEM_CYCLE)}, got {day}")
    return GEM_CYCLE[day - 1]


def until_next_local_midnight(now_local: datetime) -> timedelta:
    """Real time left until the next local midnight (23h/25h days on DST changes)."""
    if now_local.tzinfo is None or now_local.utcoffset() is None:
        raise ValueError("now_local must be timezone-aware")
    midnight = datetime.combine(now_local.date() + timedelta(days=1), time(0), now_local.tzinfo)
    # Same-tzinfo subtraction is wall-clock arithmetic in Python; go via UTC for real time.
    return midnight.astimezone(UTC) - now_local.astimezone(UTC)


def format_gems(hundredths: int) -> str:
    sign = "-" if hundredths < 0 else ""
    whole, cents = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{cents:02d}"
