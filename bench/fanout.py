"""Fan-out at Telegram's limits: 3,000 reminders due in the same minute, to 3,000 chats.

The Bot API emulator (tests/emulators/telegram_api.py) listens on 127.0.0.1 and enforces
Telegram's limits (30 messages/s overall, 1/s per chat, 20/min per group), answering 429 with
retry_after when one is broken. The reminder tick queues the messages; the outbox dispatcher
sends them through the real Telegram notifier (aiogram Bot pointed at the emulator).
Prints the sustained rate, the 429s, duplicates and losses. Goal: >= 28 msg/s, zero of the rest.
SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (a scratch database: it is wiped).
Usage: python bench/fanout.py [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
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
from scheduler.limits import TELEGRAM
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
        await conn.execute(insert(User), [
            dict(id=i, handle=f"u{i}", name=f"User {i}", timezone="UTC", language="en",
                 profile_public=True, dm_policy="everyone", nudges=True, claim_cycle_day=0,
                 created_at=created) for i in range(1, n + 1)])
        await conn.execute(insert(Account), [
            dict(platform="telegram", external_id=str(FIRST_CHAT + i), user_id=i,
                 private_chat=str(FIRST_CHAT + i), unreachable=False, last_seen_at=created)
            for i in range(1, n + 1)])
        await conn.execute(insert(Habit), [
            dict(user_id=i, name="Read", name_key="read", kind="build", schedule="day",
                 remind_at="07:30", next_reminder_at=DUE, start_date=created.date(),
                 created_at=created) for i in range(1, n + 1)])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=3000)
    args = parser.parse_args()
    name = database_name()
    async with scratch_database() as db:
        await build(db, args.messages)
        clock = WallClock()
        queued = await reminders(db, clock.now())

        emulator = TelegramEmulator(rate_limits=True, strict_chats=False)
        await emulator.start()
        session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
        bot = Bot(emulator.token, session=session)
        worker = Dispatcher(db, TelegramNotifier(bot, Deps(db, clock)), clock, TELEGRAM)
        started = time.monotonic()
        try:
            await worker.drain()
        finally:
            await worker.close()
            await bot.session.close()
            await emulator.stop()
        wall = time.monotonic() - started

        async with db.session() as s:
            status = dict((await s.execute(
                select(Outbox.status, func.count()).group_by(Outbox.status))).all())

    chats = {FIRST_CHAT + i for i in range(1, args.messages + 1)}
    per_chat = {c: len(emulator.received.get(c, [])) for c in chats}
    times = sorted(r["time"] for records in emulator.received.values() for r in records)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    rate = (len(times) - 1) / span if span else 0.0
    duplicates = sum(k - 1 for k in per_chat.values() if k > 1)
    losses = sum(1 for k in per_chat.values() if k == 0)
    worst = max((sum(1 for t in times if s <= t < s + 1.0) for s in times), default=0)
    print(f"fanout {name}: {queued} reminders queued by one tick; Telegram notifier (aiogram) "
          f"-> Bot API emulator on 127.0.0.1 with limits")
    print(f"fanout {name}: {len(times)} delivered in {span:.1f} s = {rate:.1f} msg/s sustained "
          f"(busiest 1 s at the server: {worst}; {wall:.1f} s wall incl. bookkeeping)")
    print(f"fanout {name}: 429s {emulator.stats['429']}, duplicates {duplicates}, "
          f"losses {losses}; outbox {status}")


if __name__ == "__main__":
    asyncio.run(main())
