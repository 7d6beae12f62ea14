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

from sqlalchemy import Float, and_, case, cast, func, literal, or_, select
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
    shows the last."""
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
    ranked = (
        select(
            p.user_id,
            p.completed,
            scheduled.label("scheduled"),
            rate.label("rate"),
            streak.label("streak"),
            func.rank().over(order_by=(rate.desc(), streak.desc())).label("rank"),
            func.row_number()
            .over(order_by=(rate.desc(), streak.desc(), p.joined_at, p.id))
            .label("pos"),
            func.count().over().label("total"),
            func.sum(p.completed).over().label("all_done"),
        )
        .where(p.challenge_id == challenge.id)
        .subquery()
    )
    total = challenge.participant_count
    pages = max(1, -(-total // top))
    page = min(max(1, page), pages)
    wanted = ranked.c.pos.between((page - 1) * top + 1, page * top)
    if me is not None:
        wanted = or_(wanted, ranked.c.user_id == me)
    result = await session.execute(
        select(ranked, User.name)
        .join(User, User.id == ranked.c.user_id)
        .where(wanted)
        .order_by(ranked.c.pos)
    )
    rows, mine, participants, collective, my_page = [], None, 0, 0.0, None
    for r in result:
        row = Row(
            int(r.rank),
            r.user_id,
            r.name,
            int(r.completed),
            int(r.scheduled),
            float(r.rate),
            int(r.streak),
        )
        participants = int(r.total)
        # Together, today's tasks count for everyone: one member's good morning is not 100%.
        everyone = (len(before) + open_today) * habit_count * participants
        collective = float(r.all_done or 0) / everyone if everyone else 0.0
        if (page - 1) * top < r.pos <= page * top:
            rows.append(row)
        if r.user_id == me:
            mine, my_page = row, -(-int(r.pos) // top)
    return Board(rows, mine, participants or total, collective, today, page, pages, my_page)


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
