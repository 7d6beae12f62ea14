"""Challenge progress and the leaderboard, computed in the database with one aggregate query.

Progress = completed scheduled tasks / scheduled tasks so far, where "so far" is every
scheduled day from the participant's join date to yesterday, plus today's tasks once done
(an open day never lowers anyone's rate). Ranking: rate, then current streak of full days,
then earlier join. Check-ins count when they are on a habit whose name is one of the
challenge's, so one check-in counts for every challenge that includes that habit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Date, Float, Integer, and_, case, cast, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from core.challenges.calendar import scheduled_days
from core.storage.models import Challenge, ChallengeHabit, CheckIn, Habit, Participant, User


@dataclass(frozen=True)
class Row:
    rank: int
    user_id: int
    name: str
    completed: int
    scheduled: int
    rate: float
    streak: int


@dataclass(frozen=True)
class Board:
    rows: list[Row]  # the top N, in rank order
    me: Row | None  # the caller's own row, wherever it ranks
    participants: int
    collective: float  # all completed / all scheduled
    as_of: date


async def leaderboard(
    session: AsyncSession, challenge: Challenge, today: date, me: int | None = None, top: int = 10
) -> Board:
    last = min(today, challenge.end_date)
    days = scheduled_days(challenge, last=last)
    keys = select(ChallengeHabit.name_key).where(ChallengeHabit.challenge_id == challenge.id)
    habit_count = await session.scalar(select(func.count()).select_from(keys.subquery()))
    if not days or not habit_count:
        count = challenge.participant_count
        return Board([], None, count, 0.0, last)

    # The calendar as rows (day, ordinal among scheduled days, scheduled days before today
    # from that day on): a compound SELECT, which SQLite and PostgreSQL both run.
    ordinal = {d: k for k, d in enumerate(days)}
    rows = []
    day = challenge.start_date
    while day <= last:
        before = sum(1 for d in days if day <= d < today)
        rows.append((day, ordinal.get(day, -1), before))
        day += timedelta(days=1)
    cal = union_all(
        *(
            select(
                literal(d, Date).label("d"),
                literal(k, Integer).label("k"),
                literal(n, Integer).label("before"),
            )
            for d, k, n in rows
        )
    ).cte("cal")
    in_window = and_(
        CheckIn.habit_id == Habit.id,
        CheckIn.local_date >= Participant.join_date,
        CheckIn.local_date >= challenge.start_date,
        CheckIn.local_date <= last,
    )
    if len(days) != len(rows):
        in_window = and_(in_window, CheckIn.local_date.in_(days))  # only scheduled days count
    hits = (
        select(
            Participant.id.label("pid"),
            CheckIn.local_date.label("d"),
            func.count().label("n"),
        )
        .join(Habit, Habit.user_id == Participant.user_id)
        .join(CheckIn, in_window)
        .where(Participant.challenge_id == challenge.id, Habit.name_key.in_(keys))
        .group_by(Participant.id, CheckIn.local_date)
        .cte("hits")
    )
    # Full days (every habit done) and their islands of consecutive ordinals, for streaks.
    full = (
        select(hits.c.pid, cal.c.k)
        .join(cal, cal.c.d == hits.c.d)
        .where(hits.c.n >= habit_count)
        .cte("full")
    )
    islands = select(
        full.c.pid,
        full.c.k,
        (full.c.k - func.row_number().over(partition_by=full.c.pid, order_by=full.c.k)).label(
            "grp"
        ),
    ).cte("islands")
    today_k = ordinal.get(today)
    ends = [k for k in (today_k, len(days) - 1 - (today_k is not None)) if k is not None and k >= 0]
    runs = (
        select(islands.c.pid, func.count().label("len"), func.max(islands.c.k).label("last"))
        .group_by(islands.c.pid, islands.c.grp)
        .subquery()
    )
    streaks = (
        select(runs.c.pid, func.max(runs.c.len).label("streak"))
        .where(runs.c.last.in_(ends))
        .group_by(runs.c.pid)
        .cte("streaks")
    )
    totals = (
        select(
            hits.c.pid,
            func.sum(hits.c.n).label("done"),
            func.sum(case((hits.c.d == today, hits.c.n), else_=0)).label("done_today"),
        )
        .group_by(hits.c.pid)
        .cte("totals")
    )
    base = (
        select(
            Participant.id.label("pid"),
            Participant.user_id,
            Participant.joined_at,
            User.name,
            func.coalesce(totals.c.done, 0).label("done"),
            (
                func.coalesce(cal.c.before, 0) * habit_count + func.coalesce(totals.c.done_today, 0)
            ).label("scheduled"),
            func.coalesce(streaks.c.streak, 0).label("streak"),
        )
        .join(User, User.id == Participant.user_id)
        .outerjoin(totals, totals.c.pid == Participant.id)
        .outerjoin(streaks, streaks.c.pid == Participant.id)
        .outerjoin(cal, cal.c.d == Participant.join_date)
        .where(Participant.challenge_id == challenge.id)
        .subquery()
    )
    rate = func.coalesce(cast(base.c.done, Float) / func.nullif(base.c.scheduled, 0), 0.0)
    ranked = select(
        base.c.user_id,
        base.c.name,
        base.c.done,
        base.c.scheduled,
        rate.label("rate"),
        base.c.streak,
        func.row_number()
        .over(order_by=(rate.desc(), base.c.streak.desc(), base.c.joined_at, base.c.pid))
        .label("rank"),
        func.count().over().label("total"),
        func.sum(base.c.done).over().label("all_done"),
        func.sum(base.c.scheduled).over().label("all_scheduled"),
    ).subquery()
    wanted = ranked.c.rank <= top
    if me is not None:
        wanted = wanted | (ranked.c.user_id == me)
    result = await session.execute(select(ranked).where(wanted).order_by(ranked.c.rank))
    rows, mine, participants, collective = [], None, 0, 0.0
    for r in result:
        row = Row(
            r.rank, r.user_id, r.name, int(r.done), int(r.scheduled), float(r.rate), int(r.streak)
        )
        participants = int(r.total)
        collective = float(r.all_done or 0) / float(r.all_scheduled) if r.all_scheduled else 0.0
        if r.rank <= top:
            rows.append(row)
        if r.user_id == me:
            mine = row
    return Board(rows, mine, participants, collective, last)


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
