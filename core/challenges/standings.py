"""Each participant's standing in a challenge, kept in the transaction that changes it.

A check-in, an undo, a join, a habit added, renamed or removed recomputes the standings of
that one user's running challenges from their check-ins (a few dozen rows), so boards read
standings and never the history. `rebuild` recomputes a whole challenge the same way: kept
and rebuilt can't disagree. What counts as scheduled so far is the calendar's, the same for
everyone, and is read when a board is drawn (core/challenges/leaderboard.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.challenges.calendar import scheduled_days
from core.storage.models import Challenge, ChallengeHabit, CheckIn, Habit, Participant


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


async def refresh(session: AsyncSession, user_id: int) -> set[str]:
    """Recompute the user's standings in every challenge not yet ended. Returns the habit
    names (keys) those challenges count, so a caller can mark the user's habits."""
    return await _recompute(session, Participant.user_id == user_id)


async def rebuild(session: AsyncSession, challenge_id: int) -> None:
    """Recompute every standing of one challenge from the check-in history."""
    await _recompute(session, Participant.challenge_id == challenge_id, ended_too=True)


async def _recompute(session: AsyncSession, where: Any, ended_too: bool = False) -> set[str]:
    joined = and_(Challenge.id == Participant.challenge_id)
    if not ended_too:
        joined = and_(joined, Challenge.status != "ended")
    rows = await session.execute(
        select(
            Participant.id,
            Participant.join_date,
            Challenge.id,
            Challenge.start_date,
            Challenge.end_date,
            Challenge.schedule,
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
    keys: set[str] = set()
    challenges: dict[int, tuple[list[date], set[str]]] = {}
    people: dict[int, tuple[int, date]] = {}
    done: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for pid, join_date, cid, start, end, schedule, key, day in rows:
        if cid not in challenges:
            calendar = Challenge(start_date=start, end_date=end, schedule=schedule)
            challenges[cid] = (scheduled_days(calendar), set())
        challenges[cid][1].add(key)
        keys.add(key)
        people[pid] = (cid, join_date)
        if day is not None:
            done[pid][day] += 1
    if not people:
        return keys
    values = []
    for pid, (cid, join_date) in people.items():
        days, habit_keys = challenges[cid]
        s = compute(days, join_date, len(habit_keys), done.get(pid, {}))
        values.append(
            dict(
                id=pid,
                completed=s.completed,
                last_day=s.last_day,
                last_done=s.last_done,
                streak=s.streak,
                streak_end=s.streak_end,
                best_streak=s.best_streak,
            )
        )
    await session.execute(update(Participant), values)  # by primary key, as one executemany
    return keys
