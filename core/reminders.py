"""What is due: habit reminders and the evening streak-claim nudge.

The scheduler decides *when to look*; this module decides *what is due*. Each call handles one
batch in the caller's transaction: it reads due rows through the indexed UTC columns
(`habits.next_reminder_at`, `users.next_nudge_at`; locked with SKIP LOCKED on PostgreSQL so
overlapping ticks split the work), writes outbox rows with dedupe keys and advances the due time.
A tick that runs twice, overlaps another or restarts halfway therefore enqueues each message once.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.delivery import register_check, register_useful_until
from core.habits.reminders import next_reminder_at, parse_times
from core.habits.schedule import DAILY, Schedule, parse_schedule
from core.habits.service import schedule_of
from core.habits.streaks import streak
from core.storage.models import Account, CheckIn, FrozenDay, Habit, Outbox, User
from core.users.accounts import private_addresses
from core.users.settings import in_quiet_hours

# After downtime, a reminder more than this late is skipped rather than sent in a burst.
STALE = timedelta(hours=1)
NUDGE_AT = time(20, 0)  # local time of the evening streak-claim nudge
BATCH = 100  # per transaction: on embedded SQLite a batch holds the event loop (~12 ms)
# Enough history for "is there a running streak": weekly streaks need this week and last.
_STREAK_LOOKBACK = timedelta(days=21)


@dataclass
class TickResult:
    examined: int = 0
    queued: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    more: bool = False  # the batch was full: call again for the rest

    def skip(self, reason: str) -> None:
        self.skipped[reason] += 1


def quiet_until(user: User, now: datetime) -> datetime | None:
    """When `now` falls in the user's quiet hours, the UTC instant they end; else None."""
    if user.quiet_start is None or user.quiet_end is None:
        return None
    zone = ZoneInfo(user.timezone)
    local = now.astimezone(zone)
    if not in_quiet_hours(user, local):
        return None
    day = local.date()
    minute = local.hour * 60 + local.minute
    if user.quiet_start > user.quiet_end and minute >= user.quiet_start:
        day += timedelta(days=1)  # spans midnight and we are before it: ends tomorrow
    end = time(user.quiet_end // 60, user.quiet_end % 60)
    ends = datetime.combine(day, end, zone).astimezone(UTC)
    return max(ends, now)


@dataclass(frozen=True)
class QuietClash:
    """A reminder time inside the user's quiet hours, and what the tick will do with it."""

    time: str  # HH:MM
    held_until: str  # HH:MM, when quiet hours end
    skipped: bool  # held longer than STALE, so it is never sent


def quiet_clashes(user: User, remind_at: str | None) -> list[QuietClash]:
    """The reminder times `enqueue_due_reminders` will hold or skip for quiet hours."""
    if user.quiet_start is None or user.quiet_end is None:
        return []
    clashes = []
    for t in parse_times(remind_at):
        minute = t.hour * 60 + t.minute
        if not in_quiet_hours(user, datetime.combine(date.min, t)):
            continue
        wait = (user.quiet_end - minute) % (24 * 60)
        end = time(user.quiet_end // 60, user.quiet_end % 60)
        clashes.append(
            QuietClash(t.strftime("%H:%M"), end.strftime("%H:%M"), timedelta(minutes=wait) > STALE)
        )
    return clashes


def next_nudge_at(tz: str, after: datetime) -> datetime:
    """The first local NUDGE_AT strictly after `after` (20:00 exists on every DST day)."""
    zone = ZoneInfo(tz)
    day = after.astimezone(zone).date()
    while True:
        due = datetime.combine(day, NUDGE_AT, zone).astimezone(UTC)
        if due > after:
            return due
        day += timedelta(days=1)


def _slot(remind_at: str | None, day: date, zone: ZoneInfo, due: datetime) -> str | None:
    """Which configured HH:MM this due instant is for (a 02:30 that DST moved still says 02:30)."""
    for t in parse_times(remind_at):
        if datetime.combine(day, t, zone).astimezone(UTC) == due:
            return t.strftime("%H:%M")
    return None


async def _insert_outbox(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Bulk enqueue; rows whose dedupe key exists already vanish. Returns how many were new.

    One cached statement executed for many rows (SQLAlchemy batches it into multi-row INSERTs),
    on the Core table: compiling a fresh N-row VALUES statement per batch costs more than the
    database work."""
    if not rows:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table: Any = Outbox.__table__
    statement = insert(table).on_conflict_do_nothing().returning(table.c.id)
    result = await session.execute(statement, rows)
    return len(result.all())


def _outbox_row(
    account: Account, kind: str, key: str, data: dict[str, Any], now: datetime, at: datetime
) -> dict[str, Any]:
    return dict(
        dedupe_key=key[:160],
        platform=account.platform,
        chat=account.private_chat,
        kind=kind,
        data={**data, "due": at.isoformat()},
        status="pending",
        attempts=0,
        not_before=at,
        created_at=now,
    )


async def enqueue_due_reminders(
    session: AsyncSession, now: datetime, limit: int = BATCH
) -> TickResult:
    """One batch of due habit reminders: enqueue what should be sent, advance every due time."""
    result = TickResult()
    rows = (
        await session.execute(
            select(Habit, User)
            .join(User, User.id == Habit.user_id)
            .where(Habit.next_reminder_at <= now)
            .order_by(Habit.next_reminder_at)
            .limit(limit)
            .with_for_update(skip_locked=True, of=Habit)
        )
    ).all()
    result.examined, result.more = len(rows), len(rows) == limit
    if not rows:
        return result

    # Local dates differ per user; fetch the candidates' check-ins and addresses in two queries.
    pending: list[tuple[Habit, User, date, str, datetime]] = []
    for habit, user in rows:
        due = habit.next_reminder_at
        assert due is not None
        schedule = schedule_of(habit)
        # A stale one jumps past everything stale in one step; what is left is due within
        # the hour. Otherwise the next time strictly after this one (never skipping a time).
        stale = now - due > STALE
        after = now - STALE if stale else due
        habit.next_reminder_at = next_reminder_at(habit.remind_at, schedule, user.timezone, after)
        following = habit.next_reminder_at
        if following is not None and following <= now:
            result.more = True  # due again already (two times close together, or downtime)
        if stale:
            result.skip("stale")
            continue
        zone = ZoneInfo(user.timezone)
        day = due.astimezone(zone).date()
        slot = _slot(habit.remind_at, day, zone, due)
        if slot is None:
            result.skip("no longer set")  # remind= changed without a refresh
        elif not schedule.is_scheduled(day):
            result.skip("not scheduled")
        else:
            pending.append((habit, user, day, slot, due))
    if not pending:
        return result

    done = await _done_on(session, [(h, d) for h, _, d, _, _ in pending])
    addresses = await private_addresses(session, (u.id for _, u, _, _, _ in pending))
    outbox = []
    for habit, user, day, slot, due in pending:
        if (habit.id, day) in done:
            result.skip("done")
            continue
        account = addresses.get(user.id)
        if account is None:
            result.skip("unreachable")
            continue
        data = {
            "habit_id": habit.id,
            "habit": habit.name,
            "user_id": user.id,
            "date": day.isoformat(),
            "time": slot,
            "target": habit.target,
            "unit": habit.unit,
            "kind": habit.kind,
        }
        at = quiet_until(user, now) or now
        if at - due > STALE:  # held by quiet hours past the hour: as late as after downtime
            result.skip("quiet")
            continue
        key = f"reminder:{habit.id}:{day.isoformat()}:{slot}"
        outbox.append(_outbox_row(account, "reminder", key, data, now, at))
    queued = await _insert_outbox(session, outbox)
    result.queued = queued
    if len(outbox) > queued:
        result.skipped["duplicate"] += len(outbox) - queued
    return result


async def _done_on(session: AsyncSession, pairs: list[tuple[Habit, date]]) -> set[tuple[int, date]]:
    """Which (habit, local date) pairs are done: a check-in that meets the target if any."""
    if not pairs:
        return set()
    targets = {h.id: h.target for h, _ in pairs}
    wanted = {(h.id, d) for h, d in pairs}
    rows = await session.execute(
        select(CheckIn.habit_id, CheckIn.local_date, CheckIn.amount).where(
            CheckIn.habit_id.in_(sorted(targets)),
            CheckIn.local_date.in_(sorted({d for _, d in pairs})),
        )
    )
    done = set()
    for habit_id, day, amount in rows:
        target = targets[habit_id]
        if (habit_id, day) in wanted and (target is None or (amount or 0) >= target):
            done.add((habit_id, day))
    return done


async def enqueue_due_nudges(
    session: AsyncSession, now: datetime, limit: int = BATCH
) -> TickResult:
    """One batch of evening nudges: arm users who have no nudge time yet, then handle the due.

    A nudge goes out once per local day when nudges are on, the streak claim is still open and
    the user has a running streak (some habit's current streak is at least 1).
    """
    result = TickResult()
    arming = list(
        await session.scalars(
            select(User)
            .where(User.next_nudge_at.is_(None), User.nudges.is_(True))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for user in arming:
        user.next_nudge_at = next_nudge_at(user.timezone, now)

    users = list(
        await session.scalars(
            select(User)
            .where(User.next_nudge_at <= now)
            .order_by(User.next_nudge_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    result.examined = len(users)
    result.more = len(users) == limit or len(arming) == limit
    candidates: list[tuple[User, date, datetime]] = []
    for user in users:
        due = user.next_nudge_at
        assert due is not None
        if not user.nudges:
            user.next_nudge_at = None
            result.skip("off")
            continue
        user.next_nudge_at = next_nudge_at(user.timezone, now)
        zone = ZoneInfo(user.timezone)
        local = due.astimezone(zone)
        if now - due > STALE:
            result.skip("stale")
        elif local.time() != NUDGE_AT:
            result.skip("time zone changed")  # re-armed for the new zone's evening above
        elif user.last_claim_on is not None and user.last_claim_on >= local.date():
            result.skip("claimed")
        else:
            candidates.append((user, local.date(), due))
    if not candidates:
        return result

    streaks = await _running_streaks(session, [(u, d) for u, d, _ in candidates])
    addresses = await private_addresses(session, (u.id for u, _, _ in candidates))
    outbox = []
    for user, day, _due in candidates:
        best, checked_in, habit = streaks.get(user.id, (0, False, ""))
        if best < 1:
            result.skip("no streak")
            continue
        account = addresses.get(user.id)
        if account is None:
            result.skip("unreachable")
            continue
        at = quiet_until(user, now) or now
        if at.astimezone(ZoneInfo(user.timezone)).date() != day:
            result.skip("quiet")  # quiet until tomorrow: the claim window has closed by then
            continue
        data = {
            "user_id": user.id,
            "date": day.isoformat(),
            "streak": best,
            "habit": habit,  # whose streak it is: the longest one
            "checked_in": checked_in,
        }
        outbox.append(_outbox_row(account, "nudge", f"nudge:{user.id}:{day}", data, now, at))
    result.queued = await _insert_outbox(session, outbox)
    return result


async def _running_streaks(
    session: AsyncSession, users: list[tuple[User, date]]
) -> dict[int, tuple[int, bool, str]]:
    """Per user: the longest current streak over their habits, whether they checked in today,
    and the habit whose streak that is."""
    today = {u.id: d for u, d in users}
    since = min(today.values()) - _STREAK_LOOKBACK
    habits: dict[int, tuple[int, str, date, set[date], str]] = {}
    rows = await session.execute(
        select(
            Habit.id,
            Habit.user_id,
            Habit.schedule,
            Habit.start_date,
            CheckIn.local_date,
            Habit.name,
        )
        .outerjoin(CheckIn, (CheckIn.habit_id == Habit.id) & (CheckIn.local_date >= since))
        .where(Habit.user_id.in_(today))
    )
    for habit_id, user_id, schedule, start, day, name in rows:
        entry = habits.setdefault(habit_id, (user_id, schedule, start, set(), name))
        if day is not None:
            entry[3].add(day)
    frozen: dict[int, set[date]] = {}
    for user_id, day in await session.execute(
        select(FrozenDay.user_id, FrozenDay.local_date).where(
            FrozenDay.user_id.in_(today), FrozenDay.local_date >= since
        )
    ):
        frozen.setdefault(user_id, set()).add(day)
    out: dict[int, tuple[int, bool, str]] = {}
    for user_id, schedule_text, start, done, name in habits.values():
        day = today[user_id]
        schedule = _schedule(schedule_text)
        first = max(start, day - _STREAK_LOOKBACK)
        current = streak(schedule, done, day, first, frozen.get(user_id, ())).current
        best, checked, best_name = out.get(user_id, (0, False, ""))
        if current > best:
            best, best_name = current, name
        out[user_id] = (best, checked or day in done, best_name)
    return out


def _schedule(text: str) -> Schedule:
    try:
        return parse_schedule(text)
    except ValueError:
        return DAILY


async def next_due_at(session: AsyncSession, after: datetime) -> datetime | None:
    """The earliest reminder or nudge due strictly after `after` (index lookups; for the
    console's time travel, which jumps from one due instant to the next)."""
    reminder = await session.scalar(
        select(func.min(Habit.next_reminder_at)).where(Habit.next_reminder_at > after)
    )
    nudge = await session.scalar(
        select(func.min(User.next_nudge_at)).where(User.next_nudge_at > after)
    )
    found = [t for t in (reminder, nudge) if t is not None]
    return min(found) if found else None


# ---------------------------------------------------------------- checked again at delivery


def _stale(data: dict[str, Any], now: datetime) -> bool:
    due = data.get("due")
    return due is not None and now - datetime.fromisoformat(due) > STALE


async def obsolete_reminders(
    session: AsyncSession, items: list[tuple[int, dict[str, Any]]], now: datetime
) -> dict[int, str]:
    """Reminders that should no longer go out (done meanwhile, habit removed, or hours late):
    outbox id -> reason."""
    out: dict[int, str] = {}
    habit_ids = {int(d["habit_id"]) for _, d in items}
    habits = {
        h.id: h for h in await session.scalars(select(Habit).where(Habit.id.in_(sorted(habit_ids))))
    }
    pairs = [
        (habits[int(d["habit_id"])], date.fromisoformat(d["date"]))
        for _, d in items
        if int(d["habit_id"]) in habits
    ]
    done = await _done_on(session, pairs)
    for outbox_id, data in items:
        habit_id = int(data["habit_id"])
        if habit_id not in habits:
            out[outbox_id] = "habit removed"
        elif (habit_id, date.fromisoformat(data["date"])) in done:
            out[outbox_id] = "already done"
        elif _stale(data, now):
            out[outbox_id] = "stale"
    return out


async def obsolete_nudges(
    session: AsyncSession, items: list[tuple[int, dict[str, Any]]], now: datetime
) -> dict[int, str]:
    """Nudges overtaken by events: claimed meanwhile, nudges turned off, or the day is over."""
    out: dict[int, str] = {}
    user_ids = {int(d["user_id"]) for _, d in items}
    found = await session.scalars(select(User).where(User.id.in_(sorted(user_ids))))
    users = {u.id: u for u in found}
    for outbox_id, data in items:
        user = users.get(int(data["user_id"]))
        day = date.fromisoformat(data["date"])
        if user is None or not user.nudges:
            out[outbox_id] = "nudges off"
        elif user.last_claim_on is not None and user.last_claim_on >= day:
            out[outbox_id] = "already claimed"
        elif now.astimezone(ZoneInfo(user.timezone)).date() != day or _stale(data, now):
            out[outbox_id] = "stale"
    return out


def stale_at(data: dict[str, Any], queued: datetime) -> datetime:
    """When a reminder or nudge stops being worth sending (the rule `_stale` applies)."""
    due = data.get("due")
    return (datetime.fromisoformat(due) if due is not None else queued) + STALE


register_check("reminder", obsolete_reminders)
register_check("nudge", obsolete_nudges)
register_useful_until("reminder", stale_at)
register_useful_until("nudge", stale_at)
