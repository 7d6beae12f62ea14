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

from sqlalchemy import and_, case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from core.challenges.calendar import scheduled_days
from core.challenges.standings import BoardDay, roll_over
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
    handle: str | None = None  # what a public page shows instead of the name


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
    shows the last. The page and the caller's row come from the board index in one statement;
    one more counts, over the same index, who is ahead of them."""
    board = BoardDay.of(challenge, today, len(await _keys(session, challenge.id)))
    if challenge.board_day != today:
        # The first board of a new day (the scheduler's tick usually got here first). The
        # challenge row's lock keeps two boards from rewriting the keys at once.
        await session.flush()  # refresh would drop unflushed changes (an early end's dates)
        await session.refresh(challenge, with_for_update=True)
        if challenge.board_day != today:
            await roll_over(session, challenge, board)
    p = Participant
    pages = max(1, -(-challenge.participant_count // top))
    page = min(max(1, page), pages)
    columns = (
        p.id, p.user_id, p.joined_at, p.completed, p.place_key,
        board.scheduled_sql().label("scheduled"), board.streak_sql().label("streak"),
    )  # fmt: skip
    listed = (
        select(*columns, literal(0).label("me"))
        .where(p.challenge_id == challenge.id)
        .order_by(p.place_key, p.joined_at, p.id)
        .limit(top)
        .offset((page - 1) * top)
    )
    mine = select(*columns, literal(1).label("me")).where(
        p.challenge_id == challenge.id, p.user_id == (me if me is not None else -1)
    )
    # The outer ORDER BY says the order again: PostgreSQL keeps none from inside a union.
    both = union_all(listed.subquery().select(), mine).subquery()
    found = (
        await session.execute(
            select(both, User.name, User.handle)
            .join(User, User.id == both.c.user_id)
            .order_by(both.c.me, both.c.place_key, both.c.joined_at, both.c.id)
        )
    ).all()
    listed_rows = [r for r in found if not r.me]
    my_row = next((r for r in found if r.me), None)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    wanted = {"participants": func.count(), "done": func.coalesce(func.sum(p.completed), 0)}
    if listed_rows:
        wanted["ahead_of_first"] = count(p.place_key < listed_rows[0].place_key)
    if my_row:
        wanted["ahead_of_me"] = count(p.place_key < my_row.place_key)
        wanted["listed_before_me"] = count(
            (p.place_key < my_row.place_key)
            | (
                (p.place_key == my_row.place_key)
                & (
                    (p.joined_at < my_row.joined_at)
                    | ((p.joined_at == my_row.joined_at) & (p.id < my_row.id))
                )
            )
        )
    totals = await session.execute(select(*wanted.values()).where(p.challenge_id == challenge.id))
    placed = {key: int(value) for key, value in zip(wanted, totals.one(), strict=True)}
    participants = placed["participants"]

    rows: list[Row] = []
    for i, r in enumerate(listed_rows):
        if i == 0:
            rank = placed["ahead_of_first"] + 1
        elif r.place_key == listed_rows[i - 1].place_key:
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
    everyone = (board.before + board.open) * board.habit_count * participants
    collective = placed["done"] / everyone if everyone else 0.0
    return Board(rows, me_row, participants, collective, today, page, pages, my_page)


def _row(r: Any, rank: int) -> Row:
    scheduled = int(r.scheduled)
    rate = int(r.completed) / scheduled if scheduled else 0.0
    return Row(
        rank, r.user_id, r.name, int(r.completed), scheduled, rate, int(r.streak), r.handle
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
