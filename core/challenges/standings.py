"""Each participant's standing in a challenge, kept in the transaction that changes it.

A check-in, an undo, a join, a habit added, renamed or removed recomputes the standings of
that one user's running challenges from their check-ins (a few dozen rows), so boards read
standings and never the history. `rebuild` recomputes a whole challenge the same way: kept
and rebuilt can't disagree.

What is scheduled so far is the calendar's, the same for everyone on a given challenge day
(`BoardDay`). Each standing also holds its place key as of the challenge's `board_day`: rate
and current streak in one integer, lower ranking higher, so a board is an index range. When
the day moves on, `roll_over` rewrites the keys of the whole challenge in one statement.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.challenges.calendar import local_midnight, scheduled_days
from core.storage.db import prepared
from core.storage.models import Challenge, ChallengeHabit, CheckIn, Habit, Participant

# Rates are compared as floor(rate * SCALE): two different rates of challenges up to 365 days
# of 10 habits differ by at least 1 / 3650², so they stay apart; equal rates are equal keys.
SCALE = 100_000_000
STREAK_SPAN = 1000  # more than any streak (365 days at most)


@dataclass(frozen=True)
class Standing:
    completed: int  # tasks done on scheduled days from the join date on
    last_day: date | None  # the last scheduled day with any task done
    last_done: int  # tasks done that day
    streak: int  # length of the latest run of full days (every habit done) ...
    streak_end: date | None  # ... which ended on this day
    best_streak: int


def compute(days: list[date], first: date, habit_count: int, done: dict[date, int]) -> Standing:
    """The standing over a challenge's scheduled `days` of someone scored from `first`,
    with `done[day]` tasks done on each day."""
    completed = last_done = streak = best = run = 0
    last_day = streak_end = None
    for day in days:
        n = min(done.get(day, 0), habit_count) if day >= first else 0
        if n:
            completed += n
            last_day, last_done = day, n
        if n and n >= habit_count:
            run += 1
            streak, streak_end, best = run, day, max(best, run)
        else:
            run = 0
    return Standing(completed, last_day, last_done, streak, streak_end, best)


@dataclass(frozen=True)
class BoardDay:
    """What "so far" means on one day of a challenge: past scheduled days count for everyone,
    the day itself (when scheduled) once any of its tasks is done."""

    day: date
    habit_count: int
    before: int  # scheduled days before `day`
    open: bool  # `day` is a scheduled day
    previous: date | None  # the last scheduled day before `day`

    @classmethod
    def of(cls, challenge: Challenge, day: date, habit_count: int) -> BoardDay:
        days = scheduled_days(challenge)
        before = [d for d in days if d < day]
        return cls(day, habit_count, len(before), day in days, before[-1] if before else None)

    def scheduled(self, last_day: date | None) -> int:
        started = self.open and last_day == self.day
        return (self.before + started) * self.habit_count

    def streak(self, streak: int, streak_end: date | None) -> int:
        """The latest run counts while it ends today or on the last scheduled day before."""
        return streak if streak_end is not None and streak_end in (self.day, self.previous) else 0

    def place_key(
        self, completed: int, last_day: date | None, streak: int, end: date | None
    ) -> int:
        scheduled = self.scheduled(last_day)
        rate = completed * SCALE // scheduled if scheduled else 0
        return -(rate * STREAK_SPAN + self.streak(streak, end))

    # The same three, as SQL over participants rows.
    def scheduled_sql(self) -> Any:
        p = Participant
        today = case((p.last_day == self.day, self.habit_count), else_=0) if self.open else 0
        return literal(self.before * self.habit_count) + today

    def streak_sql(self) -> Any:
        p = Participant
        ends = [d for d in (self.day, self.previous) if d is not None]
        return case((p.streak_end.in_(ends), p.streak), else_=0)

    def place_key_sql(self) -> Any:
        scaled = cast(Participant.completed, BigInteger) * literal(SCALE, BigInteger)
        # Integer division on both databases, as in place_key (SQLAlchemy's / would be true
        # division, and its // a Python function on SQLite).
        divided = scaled.op("/", return_type=BigInteger)(func.nullif(self.scheduled_sql(), 0))
        rate = func.coalesce(divided, 0)
        return -(rate * STREAK_SPAN + self.streak_sql())


async def roll_over(session: AsyncSession, challenge: Challenge, board: BoardDay) -> None:
    """Every place key of the challenge as of `board.day`: one statement."""
    await session.execute(
        update(Participant)
        .where(Participant.challenge_id == challenge.id)
        .values(place_key=board.place_key_sql())
        .execution_options(synchronize_session=False)
    )
    challenge.board_day = board.day
    challenge.next_board_at = local_midnight(board.day + timedelta(days=1), challenge.timezone)


async def refresh(session: AsyncSession, user_id: int) -> set[str]:
    """Recompute the user's standings in every challenge not yet ended. Returns the habit
    names (keys) those challenges count, so a caller can mark the user's habits."""
    rows = await session.execute(prepared(session, _by_user), {"user_id": user_id})
    return await _recompute(session, rows)


async def rebuild(session: AsyncSession, challenge_id: int) -> None:
    """Recompute every standing of one challenge from the check-in history."""
    rows = await session.execute(prepared(session, _by_challenge), {"challenge_id": challenge_id})
    await _recompute(session, rows)


async def rebuild_all(session: AsyncSession) -> int:
    """Every challenge's standings from the check-ins, place keys included; returns how many."""
    challenges = list(await session.scalars(select(Challenge)))
    for challenge in challenges:
        await rebuild(session, challenge.id)
        if challenge.board_day is not None:
            habits = await session.scalar(
                select(func.count()).where(ChallengeHabit.challenge_id == challenge.id)
            )
            await roll_over(
                session, challenge, BoardDay.of(challenge, challenge.board_day, habits or 0)
            )
    return len(challenges)


_STANDING = (
    "completed",
    "last_day",
    "last_done",
    "streak",
    "streak_end",
    "best_streak",
    "place_key",
)


def _history(joined: Any, where: Any) -> Select[Any]:
    """Participations with their challenge's calendar, habits and counted check-ins."""
    return (
        select(
            Participant.id,
            Participant.join_date,
            Challenge.id,
            Challenge.start_date,
            Challenge.end_date,
            Challenge.schedule,
            Challenge.board_day,
            ChallengeHabit.name_key,
            CheckIn.local_date,
        )
        .join(Challenge, joined)
        .join(ChallengeHabit, ChallengeHabit.challenge_id == Challenge.id)
        .outerjoin(
            Habit,
            and_(Habit.user_id == Participant.user_id, Habit.name_key == ChallengeHabit.name_key),
        )
        .outerjoin(
            CheckIn,
            and_(
                CheckIn.habit_id == Habit.id,
                CheckIn.local_date >= Participant.join_date,
                CheckIn.local_date >= Challenge.start_date,
                CheckIn.local_date <= Challenge.end_date,
            ),
        )
        .where(where)
    )


def _by_user(_dialect: str) -> Select[Any]:
    running = and_(Challenge.id == Participant.challenge_id, Challenge.status != "ended")
    return _history(running, Participant.user_id == bindparam("user_id"))


def _by_challenge(_dialect: str) -> Select[Any]:
    return _history(
        Challenge.id == Participant.challenge_id,
        Participant.challenge_id == bindparam("challenge_id"),
    )


def _update(_dialect: str) -> Any:
    table = Participant.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("pid"))
        .values({name: bindparam(name) for name in _STANDING})
    )


async def _recompute(session: AsyncSession, rows: Any) -> set[str]:
    keys: set[str] = set()
    challenges: dict[int, tuple[Challenge, list[date], set[str]]] = {}
    people: dict[int, tuple[int, date]] = {}
    done: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for pid, join_date, cid, start, end, schedule, board_day, key, day in rows:
        if cid not in challenges:
            calendar = Challenge(
                start_date=start, end_date=end, schedule=schedule, board_day=board_day
            )
            challenges[cid] = (calendar, scheduled_days(calendar), set())
        challenges[cid][2].add(key)
        keys.add(key)
        people[pid] = (cid, join_date)
        if day is not None:
            done[pid][day] += 1
    if not people:
        return keys
    boards = {
        cid: BoardDay.of(c, c.board_day, len(counted))
        for cid, (c, _, counted) in challenges.items()
        if c.board_day is not None  # else no board yet: the first one rolls every key over
    }
    values = []
    for pid, (cid, join_date) in people.items():
        _, days, habit_keys = challenges[cid]
        s = compute(days, join_date, len(habit_keys), done.get(pid, {}))
        board = boards.get(cid)
        values.append(
            dict(
                pid=pid,
                completed=s.completed,
                last_day=s.last_day,
                last_done=s.last_done,
                streak=s.streak,
                streak_end=s.streak_end,
                best_streak=s.best_streak,
                place_key=board.place_key(s.completed, s.last_day, s.streak, s.streak_end)
                if board
                else 0,
            )
        )
    await session.execute(prepared(session, _update), values)  # one executemany
    return keys
