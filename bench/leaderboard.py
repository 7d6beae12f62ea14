"""How long /leaderboard takes on a big challenge: 10,000 participants × 30 days × 2 habits.

Prints the median and max of several runs of the real command (parse, user lookup, the
standings query, the reply with its bar chart); then, while a board is asked every second,
the latency of other users' check-ins (p50, p99) and the longest the event loop was held.
SQLite by default; PostgreSQL when TEST_DATABASE_URL is set.
Usage: python bench/leaderboard.py [--participants N] [--runs N] [--seconds N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from _scratch import database_name, scratch_database
from sqlalchemy import insert, text

from bots.commands import Chat, Deps, Invocation, execute
from core.challenges.calendar import scheduled_days
from core.challenges.standings import compute
from core.clock import FakeClock
from core.storage.db import Database
from core.storage.models import (
    Account,
    Challenge,
    ChallengeHabit,
    CheckIn,
    Group,
    Habit,
    Participant,
    User,
)

START = date(2026, 3, 1)
DAYS = 30
SOLO = 5_000  # users with a habit outside the challenge too


async def build(db: Database, participants: int) -> None:
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    async with db.session() as s:
        await s.execute(
            insert(Group).values(
                id=1,
                platform="console",
                external_id="big",
                title="big",
                announce_chat="big",
                timezone="UTC",
                unreachable=False,
                created_at=now,
            )
        )
        await s.execute(
            insert(User),
            [
                dict(id=i, handle=f"u{i}", name=f"User {i}", timezone="UTC", created_at=now)
                for i in range(1, participants + 1)
            ],
        )
        await s.execute(
            insert(Account),
            [
                dict(
                    platform="console",
                    external_id=f"u{i}",
                    user_id=i,
                    private_chat=f"u{i}",
                    unreachable=False,
                    last_seen_at=now,
                )
                for i in range(1, participants + 1)
            ],
        )
        await s.execute(
            insert(Challenge).values(
                id=1,
                group_id=1,
                owner_id=1,
                title="Big",
                title_key="big",
                schedule="day",
                start_date=START,
                end_date=START + timedelta(days=DAYS - 1),
                timezone="UTC",
                starts_at=datetime(2026, 3, 1, tzinfo=UTC),
                ends_at=datetime(2026, 3, 31, tzinfo=UTC),
                is_private=False,
                status="active",
                participant_count=participants,
                created_at=now,
            )
        )
        await s.execute(
            insert(ChallengeHabit),
            [dict(challenge_id=1, name=n, name_key=n.lower()) for n in ("Read", "Run")],
        )
        habits = [
            dict(
                id=(i - 1) * 2 + k + 1,
                user_id=i,
                name=n,
                name_key=n.lower(),
                kind="build",
                schedule="day",
                start_date=START,
                in_challenge=True,
                created_at=now,
            )
            for i in range(1, participants + 1)
            for k, n in enumerate(("Read", "Run"))
        ]
        # The first users also keep a habit of their own, outside the challenge, with the
        # same history: its check-ins are the ones that keep no standing.
        solo = [
            dict(
                id=participants * 2 + i,
                user_id=i,
                name="Solo",
                name_key="solo",
                kind="build",
                schedule="day",
                start_date=START,
                created_at=now,
            )
            for i in range(1, min(participants, SOLO) + 1)
        ]
        await s.execute(insert(Habit), habits + solo)
        # Each habit done on most days, with a per-user pattern so ranks differ.
        days = [START + timedelta(days=d) for d in range(DAYS)]
        calendar = scheduled_days(Challenge(start_date=START, end_date=days[-1], schedule="day"))
        batch, standings = [], []
        for i in range(1, participants + 1):
            done: dict[date, int] = {}
            for h in (i * 2 - 1, i * 2):
                for d in range(DAYS - 1):
                    if (h * 7 + d * 3) % 10 < 8:
                        batch.append(dict(habit_id=h, local_date=days[d], created_at=now))
                        done[days[d]] = done.get(days[d], 0) + 1
                        if h % 2 and i <= SOLO:  # Solo mirrors Read
                            batch.append(
                                dict(
                                    habit_id=participants * 2 + i,
                                    local_date=days[d],
                                    created_at=now,
                                )
                            )
            # The standing as check-ins would have kept it (the rule's own function).
            st = compute(calendar, START, 2, done)
            standings.append(
                dict(
                    challenge_id=1,
                    user_id=i,
                    join_date=START,
                    joined_at=now,
                    completed=st.completed,
                    last_day=st.last_day,
                    last_done=st.last_done,
                    streak=st.streak,
                    streak_end=st.streak_end,
                    best_streak=st.best_streak,
                )
            )
            if len(batch) > 50_000:
                await s.execute(insert(CheckIn), batch)
                batch = []
        if batch:
            await s.execute(insert(CheckIn), batch)
        await s.execute(insert(Participant), standings)
    if db.dialect == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    async with scratch_database() as db:
        t0 = time.perf_counter()
        await build(db, args.participants)
        built = time.perf_counter() - t0
        clock = FakeClock(datetime(2026, 3, 30, 18, tzinfo=UTC))
        deps = Deps(db, clock)
        me = args.participants // 2
        inv = Invocation(
            "console", f"u{me}", f"User {me}", Chat("group", "big", "big"), text="/leaderboard 1"
        )
        t = time.perf_counter()
        first = await execute(deps, inv)  # the day's first board rolls every place key over
        roll = time.perf_counter() - t
        assert "Leaderboard" in first.plain() and "you are #" in first.plain(), first.plain()
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            await execute(deps, inv)
            times.append(time.perf_counter() - t)

        # Others check in while the board is asked every second; a ticker measures how long
        # the event loop goes without running it.
        stop = asyncio.Event()
        checkins: dict[str, list[float]] = {"Read": [], "Solo": []}
        stall = 0.0

        async def ticker() -> None:
            nonlocal stall
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.001)
                now = time.perf_counter()
                stall, last = max(stall, now - last - 0.001), now

        async def boards() -> None:
            while not stop.is_set():
                await execute(deps, inv)
                await asyncio.sleep(1)

        async def check_ins(worker: int) -> None:
            user = worker
            while not stop.is_set() and user <= min(SOLO, args.participants):
                # In the challenge and not, on the same history; which goes first alternates
                # (a user's first command of the day also looks for missed days to freeze).
                for habit in ("Read", "Solo") if user % 4 < 2 else ("Solo", "Read"):
                    who = Invocation(
                        "console",
                        f"u{user}",
                        f"User {user}",
                        Chat("private", f"u{user}"),
                        text=f"/done {habit}",
                    )
                    t = time.perf_counter()
                    reply = await execute(deps, who)
                    checkins[habit].append(time.perf_counter() - t)
                    assert habit in reply.plain(), reply.plain()
                user += 2

        tasks = [asyncio.create_task(c) for c in (ticker(), boards(), check_ins(1), check_ins(2))]
        await asyncio.sleep(args.seconds)
        stop.set()
        await asyncio.gather(*tasks)
    name = database_name()
    ours, solo = sorted(checkins["Read"]), sorted(checkins["Solo"])
    print(
        f"leaderboard {name}: {args.participants} participants x {DAYS} days x 2 habits "
        f"(built in {built:.1f} s)"
    )
    print(
        f"leaderboard {name}: /leaderboard median {ms(statistics.median(times))}, "
        f"max {ms(max(times))} over {args.runs} runs (the day's first, rolling the board "
        f"over: {ms(roll)})"
    )
    print(
        f"leaderboard {name}: with a board every second, {len(ours) + len(solo)} check-ins by "
        f"others: p50 {ms(ours[len(ours) // 2])}, p99 {ms(ours[int(len(ours) * 0.99)])}; "
        f"event loop held at most {ms(stall)}"
    )
    cost = statistics.median(ours) / statistics.median(solo) - 1
    print(
        f"leaderboard {name}: a check-in that keeps the standing (median "
        f"{ms(statistics.median(ours))}) against one on a habit outside the challenge "
        f"({ms(statistics.median(solo))}): {cost:+.0%}"
    )


if __name__ == "__main__":
    asyncio.run(main())
