"""How long /leaderboard takes on a big challenge: 10,000 participants × 30 days × 2 habits.

Prints the median of several runs of the real command (parse, user lookup, the aggregate
query, the reply with its bar chart). SQLite by default; PostgreSQL when TEST_DATABASE_URL
is set. Usage: python bench/leaderboard.py [--participants N] [--runs N]
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
        await s.execute(
            insert(Participant),
            [
                dict(challenge_id=1, user_id=i, join_date=START, joined_at=now)
                for i in range(1, participants + 1)
            ],
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
                created_at=now,
            )
            for i in range(1, participants + 1)
            for k, n in enumerate(("Read", "Run"))
        ]
        await s.execute(insert(Habit), habits)
        # Each habit done on most days, with a per-user pattern so ranks differ.
        batch = []
        for h in habits:
            for d in range(DAYS - 1):
                if (h["id"] * 7 + d * 3) % 10 < 8:
                    batch.append(
                        dict(habit_id=h["id"], local_date=START + timedelta(days=d), created_at=now)
                    )
            if len(batch) > 50_000:
                await s.execute(insert(CheckIn), batch)
                batch = []
        if batch:
            await s.execute(insert(CheckIn), batch)
    if db.dialect == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    async with scratch_database() as db:
        t0 = time.perf_counter()
        await build(db, args.participants)
        built = time.perf_counter() - t0
        clock = FakeClock(datetime(2026, 3, 30, 18, tzinfo=UTC))
        deps = Deps(db, clock)
        inv = Invocation(
            "console", "u5000", "User 5000", Chat("group", "big", "big"), text="/leaderboard 1"
        )
        first = await execute(deps, inv)
        assert "Leaderboard" in first.plain(), first.plain()
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            await execute(deps, inv)
            times.append(time.perf_counter() - t)
    name = database_name()
    print(
        f"leaderboard {name}: {args.participants} participants x {DAYS} days x 2 habits "
        f"(built in {built:.1f} s)"
    )
    print(
        f"leaderboard {name}: /leaderboard median {statistics.median(times) * 1000:.0f} ms, "
        f"min {min(times) * 1000:.0f} ms over {args.runs} runs"
    )


if __name__ == "__main__":
    asyncio.run(main())
