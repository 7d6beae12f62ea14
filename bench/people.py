"""/profile and /people for a user in 20 groups among 100,000 users (--users N).

Seeds 100,000 users with one Telegram account each, last seen over the past 60 days; groups
of 100 (every user in one, the viewer in 20 of them, so 2,000 group mates); 100 challenges
of 50; 3 follows per user and a few blocks. The profile looked at has 3 habits with 60 days
of check-ins, badges and 2 running challenges. Each command goes through the command layer
as a Telegram private message would (account lookup, freezes, the handler, its queries) and
prints the median of 51 runs after 5 warm-ups, with the statement count of one run.
SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (a scratch database: it is wiped;
VACUUM ANALYZE after seeding, as autovacuum would have run on a live database).
Usage: python bench/people.py [--users N]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta

from _scratch import database_name, scratch_database
from sqlalchemy import event, insert, text

from bots.commands import Chat, Deps, Invocation, execute
from core.clock import FakeClock
from core.storage.db import Database
from core.storage.models import (
    Account,
    Badge,
    Block,
    Challenge,
    CheckIn,
    Follow,
    Group,
    Habit,
    Membership,
    Participant,
    User,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
VIEWER, TARGET = 1, 77
GROUP_SIZE, VIEWER_GROUPS = 100, 20
CHALLENGES, CHALLENGE_SIZE = 100, 50
FOLLOWS_PER_USER = 3
CHUNK = 20_000
RUNS, WARMUP = 51, 5


async def _insert(conn: object, model: type, rows: list[dict[str, object]]) -> None:
    for i in range(0, len(rows), CHUNK):
        await conn.execute(insert(model), rows[i : i + CHUNK])  # type: ignore[attr-defined]


async def build(db: Database, users: int) -> None:
    rng = random.Random(14)
    groups = max(VIEWER_GROUPS + 1, users // GROUP_SIZE)
    async with db.engine.begin() as conn:
        await _insert(conn, User, [
            dict(id=i, handle=f"u{i}", name=f"User {i}", timezone="UTC", language="en",
                 profile_public=i % 10 != 0, dm_policy="everyone", nudges=True,
                 claim_cycle_day=0, verified=i % 1000 == 0, created_at=NOW)
            for i in range(1, users + 1)])  # fmt: skip
        await _insert(conn, Account, [
            dict(platform="telegram", external_id=str(10**6 + i), user_id=i,
                 private_chat=str(10**6 + i), unreachable=False,
                 last_seen_at=NOW - timedelta(minutes=rng.randrange(60 * 24 * 60)))
            for i in range(1, users + 1)])  # fmt: skip
        await _insert(conn, Group, [
            dict(id=g, platform="telegram", external_id=str(-g), title=f"Group {g}",
                 timezone="UTC", unreachable=False, created_at=NOW)
            for g in range(1, groups + 1)])  # fmt: skip
        members = [dict(group_id=(i - 1) % groups + 1, user_id=i, joined_at=NOW)
                   for i in range(2, users + 1)]  # fmt: skip
        members += [dict(group_id=g, user_id=VIEWER, joined_at=NOW)
                    for g in range(1, VIEWER_GROUPS + 1)]  # fmt: skip
        await _insert(conn, Membership, members)
        await _insert(conn, Challenge, [
            dict(id=c, owner_id=c, title=f"Challenge {c}", title_key=f"challenge {c}",
                 schedule="day", start_date=date(2026, 2, 1), end_date=date(2026, 3, 31),
                 timezone="UTC", starts_at=NOW - timedelta(days=29),
                 ends_at=NOW + timedelta(days=29),
                 is_private=False, status="active", participant_count=CHALLENGE_SIZE,
                 created_at=NOW)
            for c in range(1, CHALLENGES + 1)])  # fmt: skip
        chosen = {(c, rng.randrange(1, users + 1)) for c in range(1, CHALLENGES + 1)
                  for _ in range(CHALLENGE_SIZE)}  # fmt: skip
        chosen |= {(1, VIEWER), (2, VIEWER), (3, TARGET), (4, TARGET)}
        await _insert(conn, Participant, [
            dict(challenge_id=c, user_id=u, join_date=date(2026, 2, 1), joined_at=NOW)
            for c, u in sorted(chosen)])  # fmt: skip
        follows = {(i, rng.randrange(1, users + 1)) for i in range(1, users + 1)
                   for _ in range(FOLLOWS_PER_USER)}  # fmt: skip
        await _insert(conn, Follow, [
            dict(follower_id=a, followee_id=b, status="accepted", created_at=NOW)
            for a, b in sorted(follows) if a != b])  # fmt: skip
        await _insert(conn, Block, [
            dict(blocker_id=VIEWER, blocked_id=b, created_at=NOW) for b in (5, 6, 7)
        ] + [dict(blocker_id=b, blocked_id=VIEWER, created_at=NOW) for b in (8, 9)])
        habits = [dict(id=h, user_id=TARGET, name=f"Habit {h}", name_key=f"habit {h}",
                       kind="build", schedule="day", start_date=date(2026, 1, 1), public=h != 3,
                       created_at=NOW) for h in (1, 2, 3)]  # fmt: skip
        await _insert(conn, Habit, habits)
        await _insert(conn, CheckIn, [
            dict(habit_id=h, local_date=NOW.date() - timedelta(days=d), created_at=NOW)
            for h in (1, 2, 3) for d in range(60) if (h, d) != (2, 9)])  # fmt: skip
        await _insert(conn, Badge, [
            dict(user_id=TARGET, code=f"streak_{n}", awarded_at=NOW) for n in (3, 7, 14, 21, 30)
        ])
    if db.dialect == "postgresql":
        # As autovacuum leaves a live database: statistics, and a visibility map that lets
        # the memberships' index answer alone.
        async with db.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))


async def measure(deps: Deps, command: str) -> tuple[float, int, str]:
    chat = Chat("private", str(10**6 + VIEWER))
    inv = Invocation("telegram", str(10**6 + VIEWER), "User 1", chat, text=command)
    statements = 0

    def count(*_: object) -> None:
        nonlocal statements
        statements += 1

    for _ in range(WARMUP):
        reply = await execute(deps, inv)
    event.listen(deps.db.engine.sync_engine, "before_cursor_execute", count)
    reply = await execute(deps, inv)
    event.remove(deps.db.engine.sync_engine, "before_cursor_execute", count)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        reply = await execute(deps, inv)
        times.append(time.perf_counter() - started)
    assert not reply.error, reply.plain()
    return statistics.median(times) * 1000, statements, reply.plain()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    args = parser.parse_args()
    name = database_name()
    async with scratch_database() as db:
        t0 = time.perf_counter()
        await build(db, args.users)
        print(f"people {name}: {args.users:,} users, viewer in {VIEWER_GROUPS} groups of "
              f"{GROUP_SIZE}, built in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        deps = Deps(db, FakeClock(NOW))
        # /people 215 is past the 2,000-odd mates: the active public profiles.
        for command in (f"/profile @u{TARGET}", "/people", "/people 5", "/people 215"):
            median, statements, shown = await measure(deps, command)
            first = shown.splitlines()[1] if "\n" in shown else shown
            print(f"people {name}: {command}: median {median:.2f} ms over {RUNS} runs, "
                  f"{statements} statements; e.g. {first[:60]!r}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
