"""Habit use cases: add, edit, remove, check in, undo, today's list, stats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    bindparam,
    delete,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from core.challenges.standings import refresh as refresh_standings
from core.errors import Conflict, InvalidInput
from core.habits.names import clean_name, match, name_key
from core.habits.reminders import next_reminder_at
from core.habits.schedule import DAILY, Schedule, parse_schedule
from core.habits.streaks import Streak, completion_rate, streak
from core.habits.strength import strength
from core.rewards.ledger import COINS_PER_CHECKIN, COINS_TARGET_BONUS, pay, reverse
from core.rewards.service import award_streak_badges, claimed_on
from core.social.activity import streak_milestones
from core.storage.db import insert_ignore, insert_ignore_into, params, prepared
from core.storage.models import CheckIn, FrozenDay, Habit, User

MAX_HABITS = 50
HISTORY = timedelta(days=400)  # a check-in reads this far back: past the 365-day badge


_LOADED = "habits"  # session.info key: user id -> that user's habits, loaded this unit of work


async def list_habits(session: AsyncSession, user_id: int) -> list[Habit]:
    """The user's habits by id. A command's user arrives with them (resolve_account loads both
    in one query), so this is usually no statement at all."""
    loaded = session.info.setdefault(_LOADED, {})
    habits = loaded.get(user_id)
    if habits is None:
        habits = loaded[user_id] = list(
            await session.scalars(select(Habit).where(Habit.user_id == user_id).order_by(Habit.id))
        )
    return list(habits)


def loaded_habits(session: AsyncSession, user_id: int, habits: list[Habit]) -> None:
    """Remember the user's habits, read with the user, for the rest of this unit of work.
    Adding or removing a habit forgets them; edits change the same objects."""
    session.info.setdefault(_LOADED, {})[user_id] = habits


def _forget_habits(session: AsyncSession, user_id: int) -> None:
    session.info.get(_LOADED, {}).pop(user_id, None)


def forget_loaded(session: AsyncSession) -> None:
    """Forget every user's remembered habits (rows were moved behind the ORM's back)."""
    session.info.pop(_LOADED, None)


async def find_habit(session: AsyncSession, user_id: int, query: str) -> Habit:
    return match(await list_habits(session, user_id), query)


def schedule_of(habit: Habit) -> Schedule:
    try:
        return parse_schedule(habit.schedule)
    except ValueError:
        return DAILY


async def add_habit(
    session: AsyncSession,
    user: User,
    name: str,
    *,
    today: date,
    now: datetime,
    schedule: Schedule = DAILY,
    remind: list[str] | None = None,
    target: float | None = None,
    unit: str | None = None,
    kind: str = "build",
    challenge_linked: bool = False,
) -> Habit:
    name = clean_name(name)
    existing = await list_habits(session, user.id)
    if same := next((h for h in existing if h.name_key == name_key(name)), None):
        raise Conflict(f"You already have a habit called {same.name!r}.")  # as it is stored
    if len(existing) >= MAX_HABITS and not challenge_linked:
        raise InvalidInput(f"You have {MAX_HABITS} habits already; remove one first.")
    _check_target(target, unit)
    remind_at = ",".join(remind) if remind else None
    inserted = await session.scalar(
        insert_ignore(
            session,
            Habit,
            dict(
                user_id=user.id,
                name=name,
                name_key=name_key(name),
                kind=kind,
                schedule=schedule.text(),
                target=target,
                unit=unit if target is not None else None,
                remind_at=remind_at,
                next_reminder_at=next_reminder_at(remind_at, schedule, user.timezone, now),
                start_date=today,
                created_at=now,
            ),
        ).returning(Habit.id)
    )
    if inserted is None:  # the same add raced in from another chat
        raise Conflict(f"You already have a habit called {name!r}.")
    _forget_habits(session, user.id)
    habit = await session.get_one(Habit, inserted)
    if not challenge_linked:  # joining a challenge refreshes once, after all its habits
        # A challenge this user is in may count this name (they removed and re-added it).
        habit.in_challenge = habit.name_key in await refresh_standings(session, user.id)
    return habit


def _check_target(target: float | None, unit: str | None) -> None:
    if target is not None and not 0 < target <= 1_000_000:
        raise InvalidInput("The target must be a positive number, e.g. target=20 unit=pages.")
    if unit is not None and target is None:
        raise InvalidInput("A unit needs a target too, e.g. target=20 unit=pages.")


async def edit_habit(
    session: AsyncSession, user: User, habit: Habit, changes: dict[str, Any], now: datetime
) -> Habit:
    if "name" in changes:
        new = clean_name(changes["name"])
        others = await list_habits(session, user.id)
        same = next((h for h in others if h.name_key == name_key(new) and h.id != habit.id), None)
        if same is not None:
            raise Conflict(f"You already have a habit called {same.name!r}.")
        habit.name, habit.name_key = new, name_key(new)
        habit.in_challenge = habit.name_key in await refresh_standings(session, user.id)
    if "every" in changes:
        habit.schedule = changes["every"].text()
    if "remind" in changes:
        habit.remind_at = ",".join(changes["remind"]) or None
    if "kind" in changes:
        habit.kind = changes["kind"]
    if "visibility" in changes:
        habit.public = changes["visibility"] == "public"
    if "target" in changes or "unit" in changes:
        target = changes.get("target", habit.target)
        unit = changes.get("unit", habit.unit)
        _check_target(target, unit)
        habit.target, habit.unit = target, unit
    refresh_reminder(habit, user.timezone, now)
    return habit


def refresh_reminder(habit: Habit, tz: str, now: datetime) -> None:
    habit.next_reminder_at = next_reminder_at(habit.remind_at, schedule_of(habit), tz, now)


async def remove_habit(session: AsyncSession, habit: Habit) -> None:
    _forget_habits(session, habit.user_id)
    await session.delete(habit)
    if habit.in_challenge:
        await session.flush()
        await refresh_standings(session, habit.user_id)


@dataclass(frozen=True)
class CheckInResult:
    habit: Habit
    recorded: bool  # False when it was already done today (nothing changed)
    amount: float | None
    coins: int
    target_met: bool
    streak: Streak
    badges: list[str]


async def check_in(
    session: AsyncSession,
    user: User,
    habit: Habit,
    day: date,
    now: datetime,
    amount: float | None = None,
) -> CheckInResult:
    measurable = habit.target is not None
    if amount is not None and not 0 < amount <= 1_000_000:
        raise InvalidInput("The amount must be a positive number.")
    since = day - HISTORY  # enough for the current streak and every badge
    bare = amount is None  # "done" without an amount: for a measurable habit, the target
    if measurable and amount is None:
        amount = habit.target
    inserted = (
        await session.execute(
            prepared(session, _insert_checkin),
            dict(
                habit_id=habit.id,
                user_id=user.id,
                local_date=day,
                amount=amount,
                created_at=now,
                since=since,
            ),
        )
    ).first()
    coins = 0
    total = amount
    history = None
    if inserted is None:
        row = None
        if measurable and amount is not None:
            # Measurable habits add up over the day (10 pages now, 20 tonight); a bare
            # "done" (a second tap, a reminder's button) only tops up to the target, once.
            where = [CheckIn.habit_id == habit.id, CheckIn.local_date == day]
            if bare:
                where.append(func.coalesce(CheckIn.amount, 0) < amount)
                new_amount: Any = amount
            else:
                new_amount = func.coalesce(CheckIn.amount, 0) + amount
            row = (
                await session.execute(
                    update(CheckIn)
                    .where(*where)
                    .values(amount=new_amount)
                    .returning(CheckIn.id, CheckIn.amount)
                )
            ).one_or_none()
        if row is None:
            dates, frozen = await _history(session, user.id, habit.id, since)
            current = streak(schedule_of(habit), dates, day, max(habit.start_date, since), frozen)
            return CheckInResult(habit, False, None, 0, False, current, [])
        checkin_id, total = row
    else:
        checkin_id, done_days, frozen_days = inserted
        # Whether the new row is among the dates read differs between databases; add it here.
        history = _iso_dates(done_days) | {day}, _iso_dates(frozen_days)
        coins += await pay(
            session, user.id, "coin", COINS_PER_CHECKIN, "checkin", f"checkin:{checkin_id}", now
        )
        if habit.in_challenge:
            await refresh_standings(session, user.id)
    target_met = measurable and total is not None and total >= (habit.target or 0)
    if target_met:
        coins += await pay(
            session, user.id, "coin", COINS_TARGET_BONUS, "target", f"target:{checkin_id}", now
        )
    dates, frozen = history or await _history(session, user.id, habit.id, since)
    current = streak(schedule_of(habit), dates, day, max(habit.start_date, since), frozen)
    badges = await award_streak_badges(session, user.id, current.current, now)
    await streak_milestones(session, user.id, habit.name if habit.public else None, badges, now)
    return CheckInResult(habit, True, total, coins, target_met, current, badges)


def _insert_checkin(dialect: str) -> ReturningInsert[tuple[int, str | None, str | None]]:
    """The new check-in's id, with the history its streak needs read in the same statement:
    the habit's check-in dates and the user's frozen days since `since` (ISO dates joined by
    commas). No row when today's check-in exists already."""
    checkins, frozen_days = CheckIn.__table__, FrozenDay.__table__
    past = checkins.alias("past")  # not correlated with the row being inserted
    values = params(checkins, "habit_id", "local_date", "amount", "created_at")
    since = bindparam("since", type_=checkins.c.local_date.type)

    def dates(column: Any, *where: Any) -> Any:
        iso = column if dialect == "sqlite" else func.to_char(column, "YYYY-MM-DD")
        return select(func.aggregate_strings(iso, ",")).where(*where).scalar_subquery()

    return (
        insert_ignore_into(dialect, checkins)
        .values(**values)
        .returning(
            checkins.c.id,
            dates(
                past.c.local_date,
                past.c.habit_id == values["habit_id"],
                past.c.local_date >= since,
            ),
            dates(
                frozen_days.c.local_date,
                frozen_days.c.user_id == bindparam("user_id"),
                frozen_days.c.local_date >= since,
            ),
        )
    )


def _iso_dates(text: str | None) -> set[date]:
    return {date.fromisoformat(d) for d in text.split(",")} if text else set()


async def _history(
    session: AsyncSession, user_id: int, habit_id: int, since: date
) -> tuple[set[date], set[date]]:
    """A habit's check-in dates and the user's frozen days since `since`, in one round trip."""
    rows = await session.execute(
        prepared(session, _history_query),
        {"habit_id": habit_id, "user_id": user_id, "since": since},
    )
    done: set[date] = set()
    frozen: set[date] = set()
    for day, is_frozen in rows:
        (frozen if is_frozen else done).add(day)
    return done, frozen


def _history_query(_dialect: str) -> CompoundSelect[Any]:
    checkins, frozen_days = CheckIn.__table__, FrozenDay.__table__
    since = bindparam("since", type_=checkins.c.local_date.type)
    return union_all(
        select(checkins.c.local_date, literal(0, Integer)).where(
            checkins.c.habit_id == bindparam("habit_id"), checkins.c.local_date >= since
        ),
        select(frozen_days.c.local_date, literal(1, Integer)).where(
            frozen_days.c.user_id == bindparam("user_id"), frozen_days.c.local_date >= since
        ),
    )


async def undo(
    session: AsyncSession, user: User, habit: Habit, day: date, now: datetime
) -> int | None:
    """Remove a check-in and its coins; returns the coins taken back, None when there was no
    check-in. The day's last check-in stays when gems were claimed that day: /claim needs a
    check-in, and undo keeps that true (no check in, claim, undo)."""
    checkin_id = await session.scalar(
        delete(CheckIn)
        .where(CheckIn.habit_id == habit.id, CheckIn.local_date == day)
        .returning(CheckIn.id)
    )
    if checkin_id is None:
        return None
    others = await session.scalar(
        select(func.count())
        .select_from(CheckIn)
        .join(Habit, Habit.id == CheckIn.habit_id)
        .where(Habit.user_id == user.id, CheckIn.local_date == day)
    )
    if not others and await claimed_on(session, user, day):
        # Raised inside the unit of work, so the delete above rolls back.
        raise Conflict(
            f"You claimed gems on {day:%a %d %b} and this is that day's only check-in, "
            "so it stays: /claim needs a check-in on the day."
        )
    coins = await reverse(session, user.id, [f"checkin:{checkin_id}", f"target:{checkin_id}"], now)
    if habit.in_challenge:
        await refresh_standings(session, user.id)
    return coins


@dataclass(frozen=True)
class TodayItem:
    habit: Habit
    scheduled: bool
    amount: float | None  # what was logged today
    done: bool


async def today_items(session: AsyncSession, user_id: int, today: date) -> list[TodayItem]:
    rows = await session.execute(
        select(Habit, CheckIn.id, CheckIn.amount)
        .outerjoin(CheckIn, (CheckIn.habit_id == Habit.id) & (CheckIn.local_date == today))
        .where(Habit.user_id == user_id)
        .order_by(Habit.id)
    )
    items = []
    for habit, checkin_id, amount in rows:
        done = checkin_id is not None and (habit.target is None or (amount or 0) >= habit.target)
        items.append(TodayItem(habit, schedule_of(habit).is_scheduled(today), amount, done))
    return items


@dataclass(frozen=True)
class HabitStats:
    habit: Habit
    streak: Streak
    rate7: float | None
    rate30: float | None
    strength: float
    values: dict[date, float]  # 1.0 done, or amount/target for measurable habits
    total: int


async def habit_stats(
    session: AsyncSession, user_id: int, today: date, habit_id: int | None = None
) -> list[HabitStats]:
    """Stats for one habit or all of them: the habits, their check-ins as plain rows (a year
    of them as ORM rows of habits cost twice the time), and the frozen days."""
    habits = select(Habit).where(Habit.user_id == user_id).order_by(Habit.id)
    checkins = (
        select(CheckIn.habit_id, CheckIn.local_date, CheckIn.amount)
        .join(Habit, Habit.id == CheckIn.habit_id)
        .where(Habit.user_id == user_id)
    )
    if habit_id is not None:
        habits = habits.where(Habit.id == habit_id)
        checkins = checkins.where(Habit.id == habit_id)
    by_habit: dict[int, tuple[Habit, dict[date, float]]] = {
        h.id: (h, {}) for h in await session.scalars(habits)
    }
    for hid, day, amount in await session.execute(checkins):
        habit, values = by_habit[hid]
        values[day] = (amount or 0) / habit.target if habit.target else 1.0
    frozen = set(
        await session.scalars(select(FrozenDay.local_date).where(FrozenDay.user_id == user_id))
    )
    stats = []
    for habit, values in by_habit.values():
        schedule = schedule_of(habit)
        done = {d for d, v in values.items() if v > 0}
        stats.append(
            HabitStats(
                habit,
                streak(schedule, done, today, habit.start_date, frozen),
                completion_rate(schedule, done, today, habit.start_date, 7),
                completion_rate(schedule, done, today, habit.start_date, 30),
                strength(schedule, values, habit.start_date, today),
                values,
                len(done),
            )
        )
    return stats


def combined_values(stats: list[HabitStats], since: date) -> dict[date, float]:
    """Per day, the share of habits done: the all-habits heatmap."""
    if not stats:
        return {}
    totals: dict[date, float] = {}
    for s in stats:
        for day, v in s.values.items():
            if day >= since:
                totals[day] = totals.get(day, 0.0) + min(1.0, v)
    return {d: v / len(stats) for d, v in totals.items()}
