"""Telegram updates per second: 5,000 `/done` check-ins from 500 users through the real aiogram
Dispatcher and our handlers, against 5,000 updates to a bare aiogram echo handler, and against
5,000 check-ins by 500 other users with durable intake off (replies sent, not recorded first),
which prints what durable intake costs.

Bot API calls are captured in-process (a BaseSession that records each call and returns a
canned result, no HTTP), so the figures are the bot's own cost: update parsing, routing, the
command (one unit of work in the database) and rendering. Embedded SQLite in a temp dir;
PostgreSQL when TEST_DATABASE_URL is set (the benchmark owns that database: it resets it).

Each user has 10 daily habits and checks each in once a day, so every update is a real
check-in (a new row, coins, the streak). Updates are handled one at a time for the latency figures,
then in batches of 100 handled concurrently, as long polling hands them over (through the
intake, which returns once each update is answered). The three kinds take turns in slices of
100 updates, so both see the machine in the same state: on a
shared machine the speed drifts by tens of percent within a minute, and measured one after the
other their ratio drifted with it.
Usage: python bench/updates.py [--users N] [--per-user N]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
from _scratch import database_name, scratch_database
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.base import BaseSession
from aiogram.methods import GetMe, SendMessage, TelegramMethod
from aiogram.types import Chat, Message, Update, User
from sqlalchemy import event, insert, text

from bots.commands import Deps
from bots.telegram.admins import AdminCache
from bots.telegram.app import TelegramBot
from bots.telegram.handlers import Services
from core.clock import FakeClock
from core.storage.db import Database
from core.storage.models import Account, Habit
from core.storage.models import User as UserRow
from habitbot.app import run_loop, settle

NOW = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
TOKEN = "123456:BENCH"
BATCH = 100  # getUpdates hands over at most 100 updates at a time
SLICE = 100  # check-ins and echo take turns in slices this long


class CapturingSession(BaseSession):
    """Records every Bot API call and answers it like Telegram would, without a network."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._me = User(id=123456, is_bot=True, first_name="Bench", username="bench_bot")

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.calls[type(method).__name__] += 1
        if isinstance(method, GetMe):
            return self._me
        if isinstance(method, SendMessage):
            return Message(
                message_id=next(self._ids),
                date=NOW,
                chat=Chat(id=int(method.chat_id), type="private"),
                from_user=self._me,
                text=method.text,
            )
        return True

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError
        yield b""

    async def close(self) -> None:
        pass


def message_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(NOW.timestamp()),
            "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
        },
    }


async def build(db: Database, users: int, habits: int) -> None:
    """Users who used the bot before (an hour ago, and yesterday's freeze check done the day
    before), each with `habits` daily habits."""
    day = NOW.date()
    async with db.session() as s:
        await s.execute(
            insert(UserRow),
            [
                dict(
                    id=i,
                    handle=f"u{i}",
                    name=f"User{i}",
                    timezone="UTC",
                    created_at=NOW,
                    freezes_checked_on=day - timedelta(days=2),
                )
                for i in range(1, users + 1)
            ],
        )
        await s.execute(
            insert(Account),
            [
                dict(
                    platform="telegram",
                    external_id=str(1000 + i),
                    user_id=i,
                    private_chat=str(1000 + i),
                    unreachable=False,
                    last_seen_at=NOW - timedelta(hours=1),
                )
                for i in range(1, users + 1)
            ],
        )
        await s.execute(
            insert(Habit),
            [
                dict(
                    user_id=i,
                    name=f"H{k}",
                    name_key=f"h{k}",
                    kind="build",
                    schedule="day",
                    start_date=date(2026, 2, 1),
                    created_at=NOW,
                )
                for i in range(1, users + 1)
                for k in range(habits)
            ],
        )
    if db.dialect == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


Feed = Callable[[dict[str, Any]], Awaitable[Any]]


async def nothing() -> None:
    pass


async def measure(
    feed: Feed, updates: list[dict[str, Any]], flush: Callable[[], Awaitable[None]] = nothing
) -> tuple[float, float, list[float]]:
    """One at a time: (wall seconds, CPU seconds of this process, per-update times). `flush`
    (writing down the replies delivered, batched in the background) is timed with the slice."""
    times = []
    t0, cpu0 = time.perf_counter(), time.process_time()
    for update in updates:
        t = time.perf_counter()
        await feed(update)
        times.append(time.perf_counter() - t)
    await flush()
    return time.perf_counter() - t0, time.process_time() - cpu0, times


Take = Callable[[list[dict[str, Any]]], Awaitable[Any]]


async def measure_batches(
    take: Take, updates: list[dict[str, Any]], flush: Callable[[], Awaitable[None]] = nothing
) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(updates), BATCH):
        await take(updates[i : i + BATCH])
    await flush()
    return time.perf_counter() - t0


def gathered(feed: Feed) -> Take:
    async def take(updates: list[dict[str, Any]]) -> None:
        await asyncio.gather(*(feed(u) for u in updates))

    return take


class Timing:
    """Slices of one kind of update, added up."""

    def __init__(self) -> None:
        self.wall, self.cpu, self.times = 0.0, 0.0, []

    def add(self, measured: tuple[float, float, list[float]]) -> None:
        wall, cpu, times = measured
        self.wall, self.cpu = self.wall + wall, self.cpu + cpu
        self.times += times


def pct(times: list[float], q: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--per-user", type=int, default=10)
    args = parser.parse_args()
    n_users, per_user = args.users, args.per_user
    total = n_users * per_user
    async with scratch_database() as db:
        # Warm-up users are not timed. Each user checks every habit in once a day: today one
        # update at a time, tomorrow (the clock moves) in concurrent batches.
        warm_users = 20
        await build(db, 2 * n_users + warm_users, per_user)
        statements = [0]

        @event.listens_for(db.engine.sync_engine, "before_cursor_execute")
        def count(*_: Any) -> None:
            statements[0] += 1

        clock = FakeClock(NOW)
        deps = Deps(db, clock)
        session = CapturingSession()
        telegram = TelegramBot(deps, TOKEN, session=session)
        bot, dp = telegram.bot, telegram.dp
        settle()  # as `habitbot run` does once it has started

        async def feed_checkin(update: dict[str, Any]) -> Any:
            return await dp.feed_raw_update(bot, update)

        async def take_checkins(updates: list[dict[str, Any]]) -> None:
            await telegram.intake.take(
                [Update.model_validate(u, context={"bot": bot}) for u in updates]
            )

        flush = telegram.services.receipts.close  # type: ignore[union-attr]

        # The same bot with durable intake off: replies are sent without being recorded.
        plain_session = CapturingSession()
        plain = TelegramBot(
            deps, TOKEN, session=plain_session, services=Services(deps, AdminCache())
        )

        async def feed_plain(update: dict[str, Any]) -> Any:
            return await plain.dp.feed_raw_update(plain.bot, update)

        ids = itertools.count(1)

        def round_of(first_habit: int, users: range) -> list[dict[str, Any]]:
            return [
                message_update(next(ids), 1000 + u, f"/done H{first_habit + k}")
                for k in range(per_user)
                for u in users
            ]

        # The same updates to a bare echo handler, same captured session.
        echo_dp = Dispatcher()
        router = Router()

        @router.message()  # no filter: aiogram runs sync (magic) filters in a thread
        async def echo(message: Message) -> None:
            await message.answer(message.text or "")

        echo_dp.include_router(router)
        echo_bot = Bot(TOKEN, session=CapturingSession())

        async def feed_echo(update: dict[str, Any]) -> Any:
            return await echo_dp.feed_raw_update(echo_bot, update)

        first_warm = 2 * n_users + 1
        warm = round_of(0, range(first_warm, first_warm + warm_users // 2))
        await measure(feed_checkin, warm, flush)
        await measure(feed_echo, warm)
        await measure(feed_plain, round_of(0, range(first_warm + warm_users // 2, first_warm + 20)))
        session.calls.clear()
        checkins = round_of(0, range(1, n_users + 1))
        others = round_of(0, range(n_users + 1, 2 * n_users + 1))
        done, echoed, plain_done = Timing(), Timing(), Timing()
        done_statements = 0
        for i in range(0, total, SLICE):
            before = statements[0]
            done.add(await measure(feed_checkin, checkins[i : i + SLICE], flush))
            done_statements += statements[0] - before
            echoed.add(await measure(feed_echo, checkins[i : i + SLICE]))
            plain_done.add(await measure(feed_plain, others[i : i + SLICE]))
        per_done = done_statements / total
        calls = dict(session.calls)
        clock.advance(timedelta(days=1))
        # New updates (new update_ids): the same ones again would be replays, which durable
        # intake recognises and rolls back instead of checking in.
        checkins = round_of(0, range(1, n_users + 1))
        others = round_of(0, range(n_users + 1, 2 * n_users + 1))
        replies = session.calls["SendMessage"]
        batched = echo_batched = plain_batched = 0.0
        for i in range(0, total, SLICE):
            batched += await measure_batches(take_checkins, checkins[i : i + SLICE], flush)
            echo_batched += await measure_batches(gathered(feed_echo), checkins[i : i + SLICE])
            plain_batched += await measure_batches(gathered(feed_plain), others[i : i + SLICE])
        batch_replies = session.calls["SendMessage"] - replies
        spent, cpu, times = done.wall, done.cpu, done.times
        echo_spent, echo_cpu, echo_times = echoed.wall, echoed.cpu, echoed.times
        plain_spent, plain_cpu, plain_times = plain_done.wall, plain_done.cpu, plain_done.times

    name = database_name()
    rate, echo_rate = total / spent, total / echo_spent
    print(f"updates bench: {total} /done from {n_users} users, database {name}")
    print(
        f"check-in: {rate:7.0f} updates/s  p50 {pct(times, 0.5):.2f} ms  "
        f"p99 {pct(times, 0.99):.2f} ms  CPU {cpu / total * 1000:.2f} ms/update  "
        f"(batches of {BATCH}: {total / batched:.0f} updates/s)"
    )
    print(
        f"echo:     {echo_rate:7.0f} updates/s  p50 {pct(echo_times, 0.5):.2f} ms  "
        f"p99 {pct(echo_times, 0.99):.2f} ms  CPU {echo_cpu / total * 1000:.2f} ms/update  "
        f"(batches of {BATCH}: {total / echo_batched:.0f} updates/s)"
    )
    plain_rate = total / plain_spent
    print(
        f"no intake:{plain_rate:7.0f} updates/s  p50 {pct(plain_times, 0.5):.2f} ms  "
        f"p99 {pct(plain_times, 0.99):.2f} ms  CPU {plain_cpu / total * 1000:.2f} ms/update  "
        f"(batches of {BATCH}: {total / plain_batched:.0f} updates/s)"
    )
    print(
        f"durable intake costs {(spent / plain_spent - 1) * 100:+.1f}% of a check-in's time one at "
        f"a time ({(cpu / plain_cpu - 1) * 100:+.1f}% CPU), "
        f"{(batched / plain_batched - 1) * 100:+.1f}% in batches"
    )
    print(
        f"ratio: a check-in costs {echo_rate / rate:.1f}x an echo ({cpu / echo_cpu:.1f}x its CPU); "
        f"{per_done:.1f} SQL statements per /done; Bot API calls: {calls}; "
        f"mean {statistics.fmean(times) * 1000:.2f} ms; "
        f"waiting (wall - CPU) {(spent - cpu) / total * 1000:.2f} ms/update"
    )
    assert calls.get("SendMessage") == total, calls
    assert batch_replies == total, f"{batch_replies} replies to {total} batched check-ins"
    if os.environ.get("TEST_DATABASE_URL"):
        floor = await driver_floor(os.environ["TEST_DATABASE_URL"], total)
        print(
            f"floor: asyncpg alone, BEGIN + 3 statements (one insert) + COMMIT, as a check-in's "
            f"round trips: {floor * 1000:.2f} ms = {floor * echo_rate:.1f}x an echo"
        )


async def driver_floor(url: str, n: int) -> float:
    """Seconds per transaction of a check-in's round trips with no SQLAlchemy, ORM or bot
    logic: what PostgreSQL and the network cost before our code runs."""
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await conn.execute("CREATE TEMP TABLE floor (id serial PRIMARY KEY, v int)")
        started = time.perf_counter()
        for i in range(n):
            async with conn.transaction():
                await conn.fetchval("SELECT $1::int", i)
                await conn.fetchval("INSERT INTO floor (v) VALUES ($1) RETURNING id", i)
                await conn.fetchval("SELECT $1::int", i)
        return (time.perf_counter() - started) / n
    finally:
        await conn.close()


if __name__ == "__main__":
    run_loop(main())  # the loop `habitbot run` uses
