"""/feed and a reaction toggle among 100,000 users and 1,000,000 posts and activity items.

Seeds 100,000 users (one in ten with a private profile) in groups of 100, and 1,000,000 feed
items over the last 60 days by random authors: 70% posts, 10% of them posted in the author's
group, 20% activity items (one per author and day). The reader follows 500 people and is in
20 groups (2,000 group mates); a few blocks either way. Each /feed goes through the command
layer as a Telegram private message would (account lookup, the handler, its one feed query)
and prints median and p99 of RUNS runs after warm-ups: the first page, and a deep page (the
cursor of page DEEP, reached by pressing Older that many times). A reaction toggle is timed
through the command layer (/react) and as the core use case alone in its own transaction.
Rows are bulk-loaded (executemany on SQLite, COPY on PostgreSQL).
SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (a scratch database: it is wiped;
VACUUM ANALYZE after seeding, as autovacuum would have run on a live database; ANALYZE on
SQLite likewise, as the other benches do).
Usage: python bench/feed.py [--users N] [--items N] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from _scratch import database_name, scratch_database
from sqlalchemy import insert, text

from bots.commands import Chat, Deps, Invocation, execute
from core.clock import FakeClock
from core.social.feed import feed_page, parse_cursor
from core.social.reactions import toggle
from core.storage.db import Database
from core.storage.models import Account, Block, Follow, Group, Membership, User

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
READER = 1
QUIET = 2  # follows three people who never post and is in no group: the walk's worst case
GROUP_SIZE, READER_GROUPS, FOLLOWS = 100, 20, 500
DEEP = 50
CHUNK = 20_000
WARMUP = 5
COLUMNS = ("id", "author_id", "group_id", "kind", "text", "data", "day", "likes", "fires",
           "muscles", "parties", "hearts", "comments", "created_at")  # fmt: skip


async def _insert(conn: Any, model: type, rows: list[dict[str, object]]) -> None:
    for i in range(0, len(rows), CHUNK):
        await conn.execute(insert(model), rows[i : i + CHUNK])


def _items(users: int, groups: int, count: int, rng: random.Random) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    activity_days: set[tuple[int, object]] = set()
    span = 60 * 24 * 3600
    event = json.dumps({"events": [{"kind": "streak", "days": 7, "habit": ""}]})
    # Ids grow with time, as they do on a live database.
    offsets = sorted((rng.randrange(span), rng.randrange(10**6)) for _ in range(count))
    for pid, (seconds, micros) in enumerate(reversed(offsets), start=1):
        author = rng.randrange(8, users + 1)  # 5, 6 and 7 never post
        created = NOW - timedelta(seconds=seconds, microseconds=micros)
        kind, group, body, data, day = "post", None, f"post {pid} by {author}", None, None
        roll = rng.random()
        if roll < 0.2 and (author, created.date()) not in activity_days:
            activity_days.add((author, created.date()))
            kind, body, data, day = "activity", None, event, created.date()
        elif roll < 0.27:
            group = (author - 1) % groups + 1
        likes = rng.randrange(4)
        rows.append((pid, author, group, kind, body, data, day, likes, rng.randrange(3), 0, 0,
                     0, rng.randrange(3), created))  # fmt: skip
    return rows


async def _load_items(db: Database, rows: list[tuple[Any, ...]]) -> None:
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        if db.dialect == "postgresql":
            await raw.copy_records_to_table(  # type: ignore[union-attr]
                "posts", records=rows, columns=list(COLUMNS)
            )
        else:
            naive = [
                (*r[:6], r[6].isoformat() if r[6] else None, *r[7:13],
                 r[13].replace(tzinfo=None).isoformat(sep=" "))
                for r in rows
            ]  # fmt: skip
            marks = ", ".join("?" for _ in COLUMNS)
            sql = f"INSERT INTO posts ({', '.join(COLUMNS)}) VALUES ({marks})"
            # The driver is in autocommit mode (core/storage/sqlite.py): one transaction, or
            # every row would be its own.
            await raw.execute("PRAGMA cache_size = -262144")  # type: ignore[union-attr]
            await raw.execute("BEGIN")  # type: ignore[union-attr]
            await raw.executemany(sql, naive)  # type: ignore[union-attr]
            await raw.execute("COMMIT")  # type: ignore[union-attr]
        await conn.commit()


async def build(db: Database, users: int, items: int) -> None:
    rng = random.Random(15)
    groups = max(READER_GROUPS + 1, users // GROUP_SIZE)
    async with db.engine.begin() as conn:
        await _insert(conn, User, [
            dict(id=i, handle=f"u{i}", name=f"User {i}", timezone="UTC", language="en",
                 profile_public=i % 10 != 0, dm_policy="everyone", nudges=True,
                 claim_cycle_day=0, verified=i % 1000 == 0, created_at=NOW)
            for i in range(1, users + 1)])  # fmt: skip
        await _insert(conn, Account, [
            dict(platform="telegram", external_id=str(10**6 + i), user_id=i,
                 private_chat=str(10**6 + i), unreachable=False, last_seen_at=NOW)
            for i in range(1, users + 1)])  # fmt: skip
        await _insert(conn, Group, [
            dict(id=g, platform="telegram", external_id=str(-g), title=f"Group {g}",
                 timezone="UTC", unreachable=False, created_at=NOW)
            for g in range(1, groups + 1)])  # fmt: skip
        members = [dict(group_id=(i - 1) % groups + 1, user_id=i, joined_at=NOW)
                   for i in range(3, users + 1)]  # fmt: skip
        members += [dict(group_id=g, user_id=READER, joined_at=NOW)
                    for g in range(1, READER_GROUPS + 1)]  # fmt: skip
        await _insert(conn, Membership, members)
        followed = rng.sample(range(2, users + 1), FOLLOWS)
        follows = {(READER, b) for b in followed}
        follows |= {(a, rng.randrange(1, users + 1)) for a in range(3, users + 1)}
        follows |= {(QUIET, q) for q in (5, 6, 7)}
        await _insert(conn, Follow, [
            dict(follower_id=a, followee_id=b, status="accepted", created_at=NOW)
            for a, b in sorted(follows) if a != b])  # fmt: skip
        await _insert(
            conn,
            Block,
            [dict(blocker_id=READER, blocked_id=b, created_at=NOW) for b in (5, 6, 7)]
            + [dict(blocker_id=b, blocked_id=READER, created_at=NOW) for b in (8, 9)],
        )
    await _load_items(db, _items(users, groups, items, rng))
    async with db.engine.connect() as conn:
        if db.dialect == "postgresql":
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("SELECT setval('posts_id_seq', :n)"), {"n": items})
            await autocommit.execute(text("VACUUM ANALYZE"))
        else:
            await conn.execute(text("ANALYZE"))
            await conn.commit()


def _inv(command: str, button: bool = False) -> Invocation:
    chat = Chat("private", str(10**6 + READER))
    return Invocation(
        "telegram", str(10**6 + READER), "User 1", chat, text=command, button=button,
        button_owner=READER if button else None,
    )  # fmt: skip


def _figures(times: list[float], cpu: list[float]) -> str:
    """Wall time median, p99 and max, and this process's CPU time median: the machine is
    shared, and the CPU figure is what other work on it changes least."""
    ms = sorted(t * 1000 for t in times)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return (
        f"median {statistics.median(ms):.2f} ms, p99 {p99:.2f} ms, max {ms[-1]:.2f} ms "
        f"(CPU median {statistics.median(cpu) * 1000:.2f} ms)"
    )


async def timed(deps: Deps, command: str, runs: int, button: bool = False) -> tuple[str, str]:
    for _ in range(WARMUP):
        reply = await execute(deps, _inv(command, button))
    times, cpu = [], []
    for _ in range(runs):
        started, used = time.perf_counter(), time.process_time()
        reply = await execute(deps, _inv(command, button))
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    assert not reply.error, reply.plain()
    return _figures(times, cpu), reply.plain()


async def core_only(db: Database, runs: int, work: Any) -> str:
    """`work(session)` in its own unit of work, committed, as the command layer would."""
    times, cpu = [], []
    for i in range(WARMUP + runs):
        started, used = time.perf_counter(), time.process_time()
        async with db.session() as session:
            await work(session)
            await session.commit()
        if i >= WARMUP:
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
    return _figures(times, cpu)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    name = database_name()
    async with scratch_database() as db:
        t0 = time.perf_counter()
        await build(db, args.users, args.items)
        print(f"feed {name}: {args.users:,} users, {args.items:,} items; the reader follows "
              f"{FOLLOWS} and is in {READER_GROUPS} groups of {GROUP_SIZE}; "
              f"built in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        deps = Deps(db, FakeClock(NOW))
        print(f"feed {name}: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        figures, shown = await timed(deps, "/feed", args.runs)
        items = shown.count("\n\n")
        print(f"feed {name}: /feed first page ({items} items): {figures} over {args.runs} runs")
        figures = await core_only(db, args.runs, lambda s: feed_page(s, READER, None))
        print(f"feed {name}: its query alone (feed_page): {figures}")
        cursor = ""
        for _ in range(DEEP - 1):  # press Older, page after page
            reply = await execute(deps, _inv(f"/feed {cursor}".strip(), button=True))
            found = [b.action.args for row in reply.buttons for b in row
                     if b.action.command == "feed" and b.action.args.startswith("o")]  # fmt: skip
            cursor = found[0]
        figures, shown = await timed(deps, f"/feed {cursor}", args.runs, button=True)
        print(f"feed {name}: /feed page {DEEP} ({shown.count(chr(10) * 2)} items, by its "
              f"cursor): {figures} over {args.runs} runs")  # fmt: skip
        deep = parse_cursor(cursor)
        figures = await core_only(db, args.runs, lambda s: feed_page(s, READER, None, deep))
        print(f"feed {name}: its query alone (feed_page): {figures}")
        figures = await core_only(db, max(10, args.runs // 10), lambda s: feed_page(s, QUIET, None))
        print(f"feed {name}: an empty feed (following 3 who never post, in no group; "
              f"the walk, then author by author): {figures}")  # fmt: skip
        post_id = int(shown.split("· #", 1)[1].split()[0])
        figures, _ = await timed(deps, f"/react {post_id} fire", args.runs)
        print(f"feed {name}: /react {post_id} fire (toggled each run, whole command): {figures}")
        async with db.session() as session:
            reader = await session.get(User, READER)
        assert reader is not None
        figures = await core_only(db, args.runs, lambda s: toggle(s, reader, post_id, "heart", NOW))
        print(f"feed {name}: toggle() alone, in its own transaction: {figures}")


if __name__ == "__main__":
    asyncio.run(main())
