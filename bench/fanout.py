"""Fan-out at Telegram's limits: 3,000 reminders due in the same minute, to 3,000 chats.

The Bot API emulator (tests/emulators/telegram_api.py) listens on 127.0.0.1 and enforces
Telegram's limits (30 messages/s overall, 1/s per chat, 20/min per group), answering 429 with
retry_after when one is broken. The reminder tick queues the messages; the outbox dispatcher
sends them through the real Telegram notifier (aiogram Bot pointed at the emulator).
Prints the sustained rate, the 429s, duplicates and losses. Goal: >= 28 msg/s, zero of the rest.
SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (a scratch database: it is wiped).

With --processes N, N separate sender processes (each its own engine, bot session and limiter,
as N `habitbot run` would have) drain the one outbox with the same bot token, sharing one send
budget through Redis (REDIS_URL, default redis://127.0.0.1:6379/0).
Usage: python bench/fanout.py [--messages N] [--processes N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import func, insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.emulators

from _scratch import database_name, scratch_database

from bots.commands import Deps
from bots.telegram.notifier import TelegramNotifier
from core.clock import FakeClock
from core.storage.db import Database
from core.storage.models import Account, Habit, Outbox, User
from scheduler.dispatcher import Dispatcher
from scheduler.limits import TELEGRAM, SharedBudget, budget_id
from scheduler.ticks import reminders
from tests.emulators.telegram_api import TelegramEmulator

DUE = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
FIRST_CHAT = 5_000_000


class WallClock(FakeClock):
    """Real time, anchored at the reminders' due minute (so they are not stale)."""

    def __init__(self) -> None:
        super().__init__(DUE)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return DUE + timedelta(seconds=time.monotonic() - self._t0)


async def build(db: Database, n: int) -> None:
    created = DUE - timedelta(days=1)
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(User),
            [
                dict(
                    id=i,
                    handle=f"u{i}",
                    name=f"User {i}",
                    timezone="UTC",
                    language="en",
                    profile_public=True,
                    dm_policy="everyone",
                    nudges=True,
                    claim_cycle_day=0,
                    created_at=created,
                )
                for i in range(1, n + 1)
            ],
        )
        await conn.execute(
            insert(Account),
            [
                dict(
                    platform="telegram",
                    external_id=str(FIRST_CHAT + i),
                    user_id=i,
                    private_chat=str(FIRST_CHAT + i),
                    unreachable=False,
                    last_seen_at=created,
                )
                for i in range(1, n + 1)
            ],
        )
        await conn.execute(
            insert(Habit),
            [
                dict(
                    user_id=i,
                    name="Read",
                    name_key="read",
                    kind="build",
                    schedule="day",
                    remind_at="07:30",
                    next_reminder_at=DUE,
                    start_date=created.date(),
                    created_at=created,
                )
                for i in range(1, n + 1)
            ],
        )


async def send(db: Database, base_url: str, token: str, budget: str | None) -> None:
    """One sender: drain the outbox through the Telegram notifier until nothing is pending."""
    clock = WallClock()
    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url))
    bot = Bot(token, session=session)
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    shared = SharedBudget(redis, TELEGRAM, budget) if budget else None
    worker = Dispatcher(db, TelegramNotifier(bot, Deps(db, clock)), clock, TELEGRAM, shared=shared)
    try:
        while True:
            await worker.drain()
            async with db.session() as s:
                pending = await s.scalar(
                    select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
                )
            if not pending:
                break
            await asyncio.sleep(0.2)  # rows another sender holds, or ones handed back
    finally:
        await worker.close()
        await bot.session.close()
        if shared is not None:
            await shared.close()


async def sender(args: argparse.Namespace) -> None:
    db = Database(args.db)
    try:
        await send(db, args.base_url, args.token, args.budget)
    finally:
        await db.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--sender", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--budget", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:
        await sender(args)
        return
    name = database_name()
    async with scratch_database() as db:
        await build(db, args.messages)
        clock = WallClock()
        queued = await reminders(db, clock.now())

        emulator = TelegramEmulator(rate_limits=True, strict_chats=False)
        await emulator.start()
        started = time.monotonic()
        try:
            if args.processes == 1:
                await send(db, emulator.base_url, emulator.token, None)
            else:
                budget = budget_id("telegram", f"bench-{uuid.uuid4()}")
                children = [
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        __file__,
                        "--sender",
                        "--db",
                        db.url,
                        "--base-url",
                        emulator.base_url,
                        "--token",
                        emulator.token,
                        "--budget",
                        budget,
                    )
                    for _ in range(args.processes)
                ]
                codes = [await child.wait() for child in children]
                if any(codes):
                    raise SystemExit(f"a sender failed: exit codes {codes}")
        finally:
            await emulator.stop()
        wall = time.monotonic() - started

        async with db.session() as s:
            status = dict(
                (await s.execute(select(Outbox.status, func.count()).group_by(Outbox.status))).all()
            )

    chats = {FIRST_CHAT + i for i in range(1, args.messages + 1)}
    per_chat = {c: len(emulator.received.get(c, [])) for c in chats}
    times = sorted(r["time"] for records in emulator.received.values() for r in records)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    rate = (len(times) - 1) / span if span else 0.0
    duplicates = sum(k - 1 for k in per_chat.values() if k > 1)
    losses = sum(1 for k in per_chat.values() if k == 0)
    worst = max((sum(1 for t in times if s <= t < s + 1.0) for s in times), default=0)
    senders = (
        f"{args.processes} sender processes sharing one budget in Redis"
        if args.processes > 1
        else "one sender"
    )
    print(
        f"fanout {name}: {queued} reminders queued by one tick; {senders}, Telegram notifier "
        f"(aiogram) -> Bot API emulator on 127.0.0.1 with limits"
    )
    print(
        f"fanout {name}: {len(times)} delivered in {span:.1f} s = {rate:.1f} msg/s sustained "
        f"(busiest 1 s at the server: {worst}; {wall:.1f} s wall incl. bookkeeping)"
    )
    print(
        f"fanout {name}: 429s {emulator.stats['429']}, duplicates {duplicates}, "
        f"losses {losses}; outbox {status}"
    )


if __name__ == "__main__":
    asyncio.run(main())
