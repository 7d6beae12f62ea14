"""The leaderboard, read from the kept standings (core/challenges/standings.py) in one query.

The rules, shown in /help leaderboard:
- Everyone is measured over the challenge's scheduled days so far, from its first day: joining
  late counts the days before as not done, so nobody wins by joining for the last day.
- A day counts once any of its tasks is done or once it is over: 1 of 2 today is 50%, and a
  day not started yet never lowers anyone's rate.
- Rank by rate, then current streak of full days (every habit done). Equal on both is a tie:
  the same rank, and at the end a shared win. Within a tie, earlier joiners are listed first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from core.challenges.calendar import scheduled_days
from core.storage.models import Challenge, ChallengeHabit, CheckIn, Habit, Participant, User

PAGE = 10
# The rules above, as users read them (/help leaderboard).
RULES = (
    "Everyone is measured over the challenge's scheduled days so far, from its first day: "
    "joining late counts the days before as not done.",
    "A day counts once any of its tasks is done, or once it is over: 1 of 2 today is 50%.",
    "Rank by rate, then by current streak of full days (every task done). Equal on both "
    "share the rank, and at the end share the win: each winner gets the badge and coins.",
    "Streak freezes keep your own habit streaks; they don't count as tasks done here.",
)


@dataclass(frozen=True)
class Row:
    rank: int  # shared by ties
    user_id: int
    name: str
    completed: int
    scheduled: int
    rate: float
    streak: int


@dataclass(frozen=True)
class Board:
    rows: list[Row]  # the page asked for, in rank order
    me: Row | None  # the caller's own row, wherever it ranks
    participants: int
    collective: float  # all completed / all scheduled
    as_of: date
    page: int = 1
    pages: int = 1
    my_page: int | None = None  # the page the caller is on


async def leaderboard(
    session: AsyncSession,
    challenge: Challenge,
    today: date,
    me: int | None = None,
    top: int = PAGE,
    page: int = 1,
) -> Board:
    """Page `page` (of `top` rows each) of the board as of `today`; a page past the last
    shows the last. Two statements whatever the size: the page (with the caller's row), then
    one pass of counts that places the page and the caller among everyone."""
    days = scheduled_days(challenge)
    habit_count = len(await _keys(session, challenge.id))
    before = [d for d in days if d < today]
    # Past days count for everyone; today (a scheduled day, not over) once any task is done.
    open_today = today in days
    streak_ok = [today, *before[-1:]]
    p = Participant
    scheduled = literal(len(before) * habit_count) + (
        case((p.last_day == today, habit_count), else_=0) if open_today else literal(0)
    )
    streak = case((p.streak_end.in_(streak_ok), p.streak), else_=0)
    rate = func.coalesce(cast(p.completed, Float) / func.nullif(scheduled, 0), 0.0)
    order = (rate.desc(), streak.desc(), p.joined_at, p.id)
    pages = max(1, -(-challenge.participant_count // top))
    page = min(max(1, page), pages)
    columns = (
        p.id, p.user_id, p.joined_at, p.completed, scheduled.label("scheduled"),
        rate.label("rate"), streak.label("streak"),
    )  # fmt: skip
    mine = select(*columns, literal(1).label("me")).where(
        p.challenge_id == challenge.id, p.user_id == (me if me is not None else -1)
    )
    listed = (
        select(*columns, literal(0).label("me"))
        .where(p.challenge_id == challenge.id)
        .order_by(*order)
        .limit(top)
        .offset((page - 1) * top)
    )
    both = union_all(listed.subquery().select(), mine).subquery()
    found = (
        await session.execute(
            select(both, User.name).join(User, User.id == both.c.user_id).order_by(both.c.me)
        )
    ).all()
    listed_rows = [r for r in found if not r.me]
    my_row = next((r for r in found if r.me), None)

    def better(r: Any) -> Any:  # strictly ahead of r: ranks below it
        return or_(rate > r.rate, and_(rate == r.rate, streak > r.streak))

    def ahead(r: Any) -> Any:  # listed before r
        return or_(
            better(r),
            and_(
                rate == r.rate,
                streak == r.streak,
                or_(p.joined_at < r.joined_at, and_(p.joined_at == r.joined_at, p.id < r.id)),
            ),
        )

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    wanted = {"participants": func.count(), "done": func.coalesce(func.sum(p.completed), 0)}
    if listed_rows:
        wanted["ahead_of_first"] = count(better(listed_rows[0]))
    if my_row:
        wanted["ahead_of_me"] = count(better(my_row))
        wanted["listed_before_me"] = count(ahead(my_row))
    totals = (
        (await session.execute(select(*wanted.values()).where(p.challenge_id == challenge.id)))
        .one()
        ._asdict()
    )
    placed = {key: int(value) for key, value in zip(wanted, totals.values(), strict=True)}
    participants = placed["participants"]

    rows: list[Row] = []
    for i, r in enumerate(listed_rows):
        if i == 0:
            rank = placed["ahead_of_first"] + 1
        elif (r.rate, r.streak) == (listed_rows[i - 1].rate, listed_rows[i - 1].streak):
            rank = rows[-1].rank
        else:
            rank = (page - 1) * top + i + 1  # everyone listed before it is strictly ahead
        rows.append(_row(r, rank))
    me_row, my_page = None, None
    if my_row:
        listed_me = [x for x in rows if x.user_id == my_row.user_id]
        me_row = listed_me[0] if listed_me else _row(my_row, placed["ahead_of_me"] + 1)
        my_page = placed["listed_before_me"] // top + 1
    # Together, today's tasks count for everyone: one member's good morning is not 100%.
    everyone = (len(before) + open_today) * habit_count * participants
    collective = placed["done"] / everyone if everyone else 0.0
    return Board(rows, me_row, participants, collective, today, page, pages, my_page)


def _row(r: Any, rank: int) -> Row:
    return Row(
        rank, r.user_id, r.name, int(r.completed), int(r.scheduled), float(r.rate), int(r.streak)
    )


async def _keys(session: AsyncSession, challenge_id: int) -> list[str]:
    return list(
        await session.scalars(
            select(ChallengeHabit.name_key).where(ChallengeHabit.challenge_id == challenge_id)
        )
    )


@dataclass(frozen=True)
class Progress:
    habits: list[str]
    days: list[date]  # scheduled days from the join date through the last day shown
    done: set[tuple[int, date]]  # (habit index, day) pairs completed
    join_date: date


async def progress_grid(
    session: AsyncSession, challenge: Challenge, user_id: int, today: date
) -> Progress | None:
    participant = await session.scalar(
        select(Participant).where(
            Participant.challenge_id == challenge.id, Participant.user_id == user_id
        )
    )
    if participant is None:
        return None
    rows = await session.execute(
        select(ChallengeHabit.name, ChallengeHabit.name_key, CheckIn.local_date)
        .outerjoin(Habit, and_(Habit.user_id == user_id, Habit.name_key == ChallengeHabit.name_key))
        .outerjoin(
            CheckIn,
            and_(
                CheckIn.habit_id == Habit.id,
                CheckIn.local_date >= participant.join_date,
                CheckIn.local_date <= challenge.end_date,
            ),
        )
        .where(ChallengeHabit.challenge_id == challenge.id)
        .order_by(ChallengeHabit.id)
    )
    habits: list[str] = []
    done: set[tuple[int, date]] = set()
    for name, _key, day in rows:
        if not habits or habits[-1] != name:
            habits.append(name)
        if day is not None:
            done.add((len(habits) - 1, day))
    days = scheduled_days(challenge, first=participant.join_date, last=challenge.end_date)
    return Progress(habits, days, done, participant.join_date)
