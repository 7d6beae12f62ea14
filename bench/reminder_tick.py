"""How long one reminder tick takes with many habits: 100,000 habits (--habits 1000000) whose
reminders are spread over the day in five time zones, every user reachable.

A tick at S+1 min finds and enqueues the habits due in that minute (~habits/1440); a second tick
at S+11 min handles ten minutes' worth, to show the cost follows what is due, not how many habits
exist. Prints the due query's plan, each tick's time, the longest it held the event loop at a
stretch, and the process's peak memory.
SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (a scratch database: it is wiped).
Usage: python bench/reminder_tick.py [--habits N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from _scratch import database_name, scratch_database
from sqlalchemy import func, insert, select, text

from core.storage.db import Database
from core.storage.models import Account, Habit, Outbox, User
from scheduler.ticks import reminders

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Asia/Kolkata")
HABITS_PER_USER = 2
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # S: the previous tick ran here
CHUNK = 20_000


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def build(db: Database, habits: int) -> None:
    rng = random.Random(6)
    users = habits // HABITS_PER_USER
    async with db.engine.begin() as conn:
        for first in range(1, users + 1, CHUNK):
            ids = range(first, min(users, first + CHUNK - 1) + 1)
            await conn.execute(
                insert(User),
                [
                    dict(
                        id=i,
                        handle=f"u{i}",
                        name=f"User {i}",
                        timezone=ZONES[i % len(ZONES)],
                        language="en",
                        profile_public=True,
                        dm_policy="everyone",
                        nudges=True,
                        claim_cycle_day=0,
                        created_at=START,
                    )
                    for i in ids
                ],
            )
            await conn.execute(
                insert(Account),
                [
                    dict(
                        platform="telegram",
                        external_id=str(10**6 + i),
                        user_id=i,
                        private_chat=str(10**6 + i),
                        unreachable=False,
                        last_seen_at=START,
                    )
                    for i in ids
                ],
            )
        rows = []
        for h in range(1, habits + 1):
            user = (h - 1) // HABITS_PER_USER + 1
            zone = ZoneInfo(ZONES[user % len(ZONES)])
            minute = rng.randrange(1440)
            remind = f"{minute // 60:02d}:{minute % 60:02d}"
            local = START.astimezone(zone)
            due = local.replace(hour=minute // 60, minute=minute % 60, second=0)
            if due <= local:
                due += timedelta(days=1)
            rows.append(
                dict(
                    user_id=user,
                    name=f"Habit {h}",
                    name_key=f"habit {h}",
                    kind="build",
                    schedule="day",
                    remind_at=remind,
                    next_reminder_at=due.astimezone(UTC),
                    start_date=local.date(),
                    created_at=START,
                )
            )
            if len(rows) == CHUNK:
                await conn.execute(insert(Habit), rows)
                rows = []
        if rows:
            await conn.execute(insert(Habit), rows)
    if db.dialect == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


async def plan(db: Database, now: datetime) -> list[str]:
    query = (
        "SELECT habits.id FROM habits JOIN users ON users.id = habits.user_id"
        " WHERE habits.next_reminder_at <= :now ORDER BY habits.next_reminder_at LIMIT 500"
    )
    async with db.engine.connect() as conn:
        if db.dialect == "sqlite":
            rows = await conn.execute(
                text(f"EXPLAIN QUERY PLAN {query}"),
                {"now": now.replace(tzinfo=None).isoformat(" ")},
            )
            return [str(r[-1]) for r in rows]
        rows = await conn.execute(
            text(f"EXPLAIN {query} FOR UPDATE OF habits SKIP LOCKED"), {"now": now}
        )
        return [str(r[0]) for r in rows]


async def tick(db: Database, now: datetime) -> tuple[int, int, float, float]:
    """Due habits, rows enqueued, the tick's seconds, and the longest the event loop went
    without running something else meanwhile (a ticker task waking every millisecond)."""
    async with db.session() as session:
        due = await session.scalar(
            select(func.count()).select_from(Habit).where(Habit.next_reminder_at <= now)
        )
    held = 0.0
    running = True

    async def ticker() -> None:
        nonlocal held
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            at = time.perf_counter()
            held, last = max(held, at - last - 0.001), at

    watch = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    queued = await reminders(db, now)
    seconds = time.perf_counter() - started
    running = False
    await watch
    return int(due or 0), queued, seconds, held


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--habits", type=int, default=100_000)
    args = parser.parse_args()
    name = database_name()
    async with scratch_database() as db:
        t0 = time.perf_counter()
        await build(db, args.habits)
        built, rss_built = time.perf_counter() - t0, peak_mb()
        print(
            f"reminder_tick {name}: {args.habits:,} habits, {args.habits // 2:,} users, "
            f"built in {built:.1f} s (peak RSS {rss_built:.0f} MB)"
        )
        for line in await plan(db, START + timedelta(minutes=1)):
            print(f"reminder_tick {name}: plan: {line}")
        for minutes, label in ((1, "1 minute"), (11, "10 more minutes")):
            due, queued, seconds, held = await tick(db, START + timedelta(minutes=minutes))
            print(
                f"reminder_tick {name}: tick for {label}: {due} due, {queued} enqueued in "
                f"{seconds * 1000:.0f} ms ({seconds * 1e6 / max(due, 1):.0f} µs per due habit); "
                f"event loop held at most {held * 1000:.0f} ms at a stretch"
            )
        async with db.session() as session:
            total = await session.scalar(select(func.count()).select_from(Outbox))
        print(
            f"reminder_tick {name}: outbox rows {total}; peak RSS {peak_mb():.0f} MB "
            f"(after seeding {rss_built:.0f} MB)"
        )


if __name__ == "__main__":
    asyncio.run(main())
