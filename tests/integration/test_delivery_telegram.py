"""Delivery over real HTTP: the dispatcher drives the Telegram notifier (aiogram) against the
Bot API emulator on 127.0.0.1, which enforces Telegram's limits and injects faults."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy import select

from bots.commands import Deps
from core.clock import SystemClock
from core.outbox import enqueue
from core.storage.db import Database
from core.storage.models import Account, Outbox
from core.users.accounts import resolve_account
from scheduler.dispatcher import Dispatcher, RetryPolicy
from scheduler.limits import TELEGRAM
from tests.emulators.telegram_api import TelegramEmulator

notifier_module = pytest.importorskip("bots.telegram.notifier")


class Setup:
    def __init__(self, db: Database, emulator: TelegramEmulator, worker: Dispatcher) -> None:
        self.db, self.emulator, self.worker = db, emulator, worker
        self.clock = SystemClock()

    async def user(self, chat: int, name: str) -> None:
        async with self.db.session() as session:
            await resolve_account(session, "telegram", str(chat), name, str(chat), self.clock.now())

    async def queue(self, chat: int, *texts: str) -> None:
        async with self.db.session() as session:
            for text in texts:
                await enqueue(session, platform="telegram", chat=str(chat), kind="tg_note",
                              data={"text": text}, dedupe_key=f"tg:{chat}:{text}",
                              now=self.clock.now())
        self.worker.wake()

    async def rows(self) -> list[Outbox]:
        async with self.db.session() as session:
            return list(await session.scalars(select(Outbox).order_by(Outbox.id)))

    async def settled(self, count: int, timeout: float = 10) -> list[Outbox]:
        """Wait until `count` rows have ended (sent or failed)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = await self.rows()
            if sum(r.status != "pending" for r in rows) >= count:
                return rows
            if time.monotonic() > deadline:
                raise TimeoutError([(r.chat, r.status, r.error) for r in rows])
            await asyncio.sleep(0.05)

    def calls_to(self, chat: int) -> int:
        return sum(1 for m, p in self.emulator.calls if m == "sendMessage" and p["chat_id"] == chat)


@pytest.fixture
async def tg(db: Database) -> AsyncIterator[Setup]:
    from bots.notifications import renders
    from bots.reply import Reply

    def note(data: dict[str, Any]) -> Reply:
        return Reply.text(data["text"])

    renders("tg_note")(note)
    async with TelegramEmulator(rate_limits=True, strict_chats=False) as emulator:
        session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
        bot = Bot(emulator.token, session=session)
        notifier = notifier_module.TelegramNotifier(bot, Deps(db, SystemClock()))
        worker = Dispatcher(db, notifier, SystemClock(), TELEGRAM,
                            retry=RetryPolicy(base=0.1, cap=1), poll=0.05)
        task = asyncio.create_task(worker.run())
        try:
            yield Setup(db, emulator, worker)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await worker.close()
            await bot.session.close()


def received(emulator: TelegramEmulator, chat: int) -> list[str]:
    return [r["text"] for r in emulator.received.get(chat, [])]


async def test_429_retry_after_is_honoured_exactly(tg: Setup) -> None:
    await tg.user(111, "Ann")
    tg.emulator.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    started = time.monotonic()
    await tg.queue(111, "hello")
    [row] = await tg.settled(1)
    assert row.status == "sent" and received(tg.emulator, 111) == ["hello"]
    [record] = tg.emulator.received[111]
    assert record["time"] - started >= 2.0  # not retried before retry_after
    assert record["time"] - started < 3.5
    assert tg.emulator.stats["429"] == 1 and tg.calls_to(111) == 2


async def test_500_is_retried_then_sent_once(tg: Setup) -> None:
    await tg.user(111, "Ann")
    tg.emulator.fail_next("sendMessage", 500, "Internal Server Error", times=2)
    await tg.queue(111, "hello")
    [row] = await tg.settled(1)
    assert (row.status, row.attempts) == ("sent", 2)
    assert received(tg.emulator, 111) == ["hello"] and tg.calls_to(111) == 3


async def test_blocked_user_is_marked_unreachable_and_not_tried_again(tg: Setup) -> None:
    await tg.user(111, "Ann")
    await tg.user(222, "Bob")
    tg.emulator.block(111)
    await tg.queue(111, "one", "two")
    await tg.queue(222, "hi")
    rows = await tg.settled(3)
    assert [(r.chat, r.status) for r in rows] == [
        ("111", "failed"), ("111", "failed"), ("222", "sent")]
    assert "blocked" in (rows[0].error or "") and tg.calls_to(111) == 1
    async with tg.db.session() as session:
        ann = await session.scalar(select(Account).where(Account.external_id == "111"))
    assert ann is not None and ann.unreachable


async def test_limits_are_kept_without_a_single_429(tg: Setup) -> None:
    """Three messages to one person and three to a group: 1/s per chat, no 429."""
    await tg.user(111, "Ann")
    await tg.queue(111, "a", "b", "c")
    await tg.queue(-100500, "x", "y", "z")
    await tg.settled(6, timeout=15)
    assert tg.emulator.stats["429"] == 0
    for chat in (111, -100500):
        times = [r["time"] for r in tg.emulator.received[chat]]
        assert [r["text"] for r in tg.emulator.received[chat]] == (
            ["a", "b", "c"] if chat > 0 else ["x", "y", "z"])
        assert min(b - a for a, b in itertools.pairwise(times)) >= 0.95


async def test_a_long_message_failing_halfway_resends_only_the_rest(tg: Setup) -> None:
    """A reply over 4,096 characters goes out in parts; when Telegram fails on the second
    (a 500, then a 429), the retries send the parts that did not arrive, each exactly once.
    (The emulator also refuses parts sent to one chat faster than 1/s; those resume too.)"""
    await tg.user(111, "Ann")
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(120))  # about 12,000 characters
    tg.emulator.fail_next("sendMessage", 500, "Internal Server Error", after=1)
    tg.emulator.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    await tg.queue(111, text)
    [row] = await tg.settled(1, timeout=20)
    parts = received(tg.emulator, 111)
    assert row.status == "sent" and len(parts) == 3 and len(set(parts)) == 3
    assert "\n".join(parts).replace("\n", "") == text.replace("\n", "")
    assert row.parts_sent >= 1 and tg.calls_to(111) >= 5  # part 1, two failures, parts 2, 3


async def test_an_outage_during_a_reminder_wave_delivers_every_reminder_once(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram answers 500 for 75 s (on a clock running 30 x fast) while 50 reminders go out:
    the dispatcher pauses instead of retrying each row into failure, and after recovery every
    reminder arrives once, none failed, 0 x 429."""
    from datetime import timedelta

    from core.clock import FakeClock
    from scheduler.breaker import Breaker
    from scheduler.ticks import reminders
    from tests.conftest import START, Say

    clock = FakeClock(START)  # Monday 09:00
    say = Say(Deps(db, clock))
    chats = [1001 + i for i in range(50)]
    for chat in chats:
        reply = await say("/habit add Read remind=09:05", user=str(chat), platform="telegram")
        assert not reply.error, reply.plain()
    clock.set(START + timedelta(minutes=5))
    assert await reminders(db, clock.now()) == 50

    speed = 30  # fake seconds per real second: retry backoff and staleness run fast

    async def warp() -> None:
        while True:
            await asyncio.sleep(0.02)
            clock.advance(timedelta(seconds=0.02 * speed))

    async with TelegramEmulator(rate_limits=True, strict_chats=False) as emulator:
        session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
        bot = Bot(emulator.token, session=session)
        notifier = notifier_module.TelegramNotifier(bot, Deps(db, clock))
        breaker = Breaker("telegram", probe_after=0.2, probe_cap=0.5)
        worker = Dispatcher(db, notifier, clock, TELEGRAM, breaker=breaker, poll=0.05,
                            lease=timedelta(hours=1))
        tasks = [asyncio.create_task(warp()), asyncio.create_task(worker.run())]
        try:
            await emulator.wait_for(lambda _: True, start=9)  # the wave is under way ...
            emulator.outage(75 / speed)  # ... when the Bot API goes down
            await emulator.wait_for(lambda _: True, timeout=20, start=49)
            await asyncio.sleep(0.5)  # nothing more arrives (a duplicate would, by now)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await worker.close()
            await bot.session.close()

    assert sorted(emulator.received) == chats
    assert all(len(got) == 1 for got in emulator.received.values())  # each exactly once
    assert all("Time for Read" in got[0]["text"] for got in emulator.received.values())
    async with db.session() as s:
        rows = list(await s.scalars(select(Outbox)))
    assert {r.status for r in rows} == {"sent"}, [(r.chat, r.status, r.error) for r in rows]
    assert emulator.stats["429"] == 0
    # Paused, not hammering: 40 reminders were waiting, far fewer requests met the outage
    # (the sends in flight when it began, the failures that paused it, a probe now and then).
    assert breaker.pauses == 1
    assert 0 < emulator.stats["outage"] < 40, emulator.stats["outage"]
    assert sum("deliveries paused" in r.getMessage() for r in caplog.records) == 1


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def test_two_processes_share_one_send_budget_through_redis(db: Database) -> None:
    """Two dispatchers, each with its own database engine, bot session and limiter (as two
    `habitbot run` processes have), send 600 messages with one bot token: together within
    Telegram's limits at the emulator, 0 x 429, each message once."""
    from bots.notifications import renders
    from bots.reply import Reply
    from scheduler.limits import SharedBudget, budget_id

    renders("tg_note")(lambda data: Reply.text(data["text"]))
    budget = budget_id("telegram", f"test-{uuid.uuid4()}")  # other test runs share this Redis
    probe = SharedBudget(REDIS_URL, TELEGRAM, budget)
    try:
        await probe.window.storage.check() or pytest.fail(f"Redis at {REDIS_URL} does not answer")
    finally:
        await probe.close()

    chats = [str(7_000_000 + i) for i in range(570)]
    work = [(c, f"hi {c}") for c in chats]
    work += [("7999999", f"note {n}") for n in range(10)]  # one person, 1/s
    work += [("-100777", f"board {n}") for n in range(20)]  # one group, 20/min
    clock = SystemClock()
    async with db.session() as session:
        for chat, text in work:
            await enqueue(session, platform="telegram", chat=chat, kind="tg_note",
                          data={"text": text}, dedupe_key=f"tg:{chat}:{text}", now=clock.now())

    async with TelegramEmulator(rate_limits=True, strict_chats=False) as emulator:
        processes = []
        for _ in range(2):
            own_db = Database(db.url)
            bot = Bot(emulator.token,
                      session=AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url)))
            shared = SharedBudget(REDIS_URL, TELEGRAM, budget)
            worker = Dispatcher(own_db, notifier_module.TelegramNotifier(bot, Deps(own_db, clock)),
                                clock, TELEGRAM, shared=shared, poll=0.05)
            processes.append((own_db, bot, shared, worker))
        tasks = [asyncio.create_task(p[3].run()) for p in processes]
        try:
            await emulator.wait_for(lambda _: True, timeout=60, start=len(work) - 1)
            await asyncio.sleep(1.0)  # a duplicate would arrive by now
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for own_db, bot, shared, worker in processes:
                await worker.close()
                await bot.session.close()
                await shared.close()
                await own_db.dispose()

    assert emulator.stats["429"] == 0
    got = sorted((str(r["chat_id"]), r["text"]) for rs in emulator.received.values() for r in rs)
    assert got == sorted(work)  # every message once
    assert all(p[3].stats["sent"] > 0 for p in processes), [p[3].stats for p in processes]
    # The fan-out to distinct chats runs at the overall limit, shared: 30/s for the two.
    times = sorted(r["time"] for rs in emulator.received.values() for r in rs
                   if r["text"].startswith("hi "))
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert rate <= 30.5, rate
    person = [r["time"] for r in emulator.received[7999999]]
    assert min(b - a for a, b in itertools.pairwise(person)) >= 0.95


async def test_a_refused_token_pauses_telegram_and_fails_no_row(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    from bots.notifications import renders
    from bots.reply import Reply

    renders("tg_note")(lambda data: Reply.text(data["text"]))
    clock = SystemClock()
    async with db.session() as session:
        for chat in ("111", "222", "333"):
            await enqueue(session, platform="telegram", chat=chat, kind="tg_note",
                          data={"text": "hello"}, dedupe_key=f"tg:{chat}", now=clock.now())
    async with TelegramEmulator(strict_chats=False) as emulator:
        session = AiohttpSession(api=TelegramAPIServer.from_base(emulator.base_url))
        bot = Bot("123456:REVOKED", session=session)  # Telegram answers 401 Unauthorized
        worker = Dispatcher(db, notifier_module.TelegramNotifier(bot, Deps(db, clock)), clock,
                            TELEGRAM, concurrency=1)
        try:
            await worker.run_once()
        finally:
            await worker.close()
            await bot.session.close()
    assert worker.breaker.paused
    [refused] = [r for r in caplog.records if "refused the bot token" in r.getMessage()]
    assert refused.levelname == "ERROR" and "REVOKED" not in refused.getMessage()
    async with db.session() as s:
        rows = list(await s.scalars(select(Outbox)))
    assert {(r.status, r.attempts) for r in rows} == {("pending", 0)}
    assert emulator.stats["calls"] == 0 and emulator.stats["sent"] == 0
