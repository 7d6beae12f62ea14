"""Streak freezes are used automatically: a missed scheduled day that would break a running
streak is covered while the user holds a freeze."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.habits.schedule import DAILY, Schedule, parse_schedule
from core.rewards.ledger import balances, pay
from core.storage.db import insert_ignore
from core.storage.models import CheckIn, FrozenDay, Habit, User

LOOKBACK_DAYS = 7  # after a longer absence the streak is gone anyway; don't spend freezes on it
CHECK_AT = time(0, 5)  # local: the day before is over, and a freeze can cover it


def next_freeze_check(tz: str, after: datetime) -> datetime:
    """The next local CHECK_AT strictly after `after`, in UTC (DST-safe through zoneinfo)."""
    zone = ZoneInfo(tz)
    day = after.astimezone(zone).date()
    for ahead in range(3):
        at = datetime.combine(day + timedelta(days=ahead), CHECK_AT, zone).astimezone(UTC)
        if at > after:
            return at
    raise AssertionError("no check time within three days")


async def apply_missed_day_freezes(
    session: AsyncSession, user: User, today: date, now: datetime
) -> list[date]:
    """Cover yesterday (and days since the last check, up to a week) with freezes held.

    Runs at most once per user per local day, so it costs nothing on most commands.
    """
    yesterday = today - timedelta(days=1)
    checked = user.freezes_checked_on
    if checked is not None and checked >= yesterday:
        return []
    user.freezes_checked_on = yesterday
    if checked is None:
        return []  # a new user has nothing to protect yet
    first = max(checked + timedelta(days=1), today - timedelta(days=LOOKBACK_DAYS))
    held = (await balances(session, user.id)).freezes
    if held <= 0:
        return []
    window_start = first - timedelta(days=LOOKBACK_DAYS)
    rows = await session.execute(
        select(Habit.id, Habit.schedule, Habit.start_date, CheckIn.local_date)
        .outerjoin(
            CheckIn,
            (CheckIn.habit_id == Habit.id) & (CheckIn.local_date >= window_start),
        )
        .where(Habit.user_id == user.id)
    )
    habits: dict[int, tuple[Schedule, date, set[date]]] = {}
    for habit_id, schedule, start, day in rows:
        entry = habits.setdefault(habit_id, (_schedule(schedule), start, set()))
        if day is not None:
            entry[2].add(day)
    frozen = set(
        await session.scalars(
            select(FrozenDay.local_date).where(
                FrozenDay.user_id == user.id, FrozenDay.local_date >= window_start
            )
        )
    )
    used: list[date] = []
    day = first
    while day <= yesterday and held > 0:
        if any(_breaks(s, start, done, frozen, day) for s, start, done in habits.values()):
            covered = await session.scalar(
                insert_ignore(session, FrozenDay, dict(user_id=user.id, local_date=day)).returning(
                    FrozenDay.id
                )
            )
            if covered is None:
                # The same user's concurrent first command of the day (another device) is
                # spending the freezes; it tells the user, and counting on here would overspend.
                break
            frozen.add(day)
            await pay(session, user.id, "freeze", -1, "freeze_used", f"freeze:{user.id}:{day}", now)
            used.append(day)
            held -= 1
        day += timedelta(days=1)
    return used


def _schedule(text: str) -> Schedule:
    try:
        return parse_schedule(text)
    except ValueError:
        return DAILY


def _breaks(schedule: Schedule, start: date, done: set[date], frozen: set[date], day: date) -> bool:
    """Missing `day` breaks a streak that was alive the scheduled day before."""
    if schedule.weekly or day <= start or not schedule.is_scheduled(day) or day in done:
        return False
    if day in frozen:  # covered already (by a concurrent first command of the same user)
        return False
    previous = day - timedelta(days=1)
    while previous >= start and not schedule.is_scheduled(previous):
        previous -= timedelta(days=1)
    return previous >= start and (previous in done or previous in frozen)
