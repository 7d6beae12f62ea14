"""Several `habitbot run` processes on one PostgreSQL database act as one bot: three real
processes behind Telegram's webhook (each on its own port; each update goes to any of them,
some to two at once), one shared outbox, one send budget per token through Redis. Every user
gets each reply and each reminder exactly once, with no 429 at an emulator enforcing
Telegram's limits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, insert, select

from core.storage.db import Database
from core.storage.models import Account, Habit, User
from tests.adapters.test_telegram_e2e import TOKEN, launch
from tests.emulators.telegram_api import TelegramEmulator

PG_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
pytestmark = pytest.mark.skipif(
    not PG_URL, reason="several processes share one PostgreSQL database (TEST_DATABASE_URL)"
)

REMINDED, TYPING = 600, 300  # users with a reminder due now; users typing a command
FIRST_REMINDED, FIRST_TYPING = 7_000_000, 8_000_000
SECRET = "scale-out-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def due_reminders(db: Database, now: datetime) -> None:
    """REMINDED people who used the bot yesterday, each with a reminder due this minute."""
    created = now - timedelta(days=1)
    users = range(1, REMINDED + 1)
    async with db.engine.begin() as conn:
        await conn.execute(insert(User), [
            dict(id=i, handle=f"r{i}", name=f"R{i}", timezone="UTC", language="en",
                 profile_public=True, dm_policy="everyone", nudges=False, claim_cycle_day=0,
                 created_at=created) for i in users])
        await conn.execute(insert(Account), [
            dict(platform="telegram", external_id=str(FIRST_REMINDED + i), user_id=i,
                 private_chat=str(FIRST_REMINDED + i), unreachable=False, last_seen_at=created)
            for i in users])
        await conn.execute(insert(Habit), [
            dict(user_id=i, name="Stretch", name_key="stretch", kind="build", schedule="day",
                 remind_at=now.strftime("%H:%M"), next_reminder_at=now,
                 start_date=created.date(), created_at=created) for i in users])
        await conn.exec_driver_sql(f"SELECT setval('users_id_seq', {REMINDED})")


def received(emu: TelegramEmulator, fragment: str) -> Counter[int]:
    return Counter(r["chat_id"] for r in emu.sent if fragment in (r.get("text") or ""))


async def test_three_webhook_processes_act_as_one_bot(tmp_path: Path, db: Database) -> None:
    await due_reminders(db, datetime.now(UTC))
    ports = [free_port() for _ in range(3)]
    urls = [f"http://127.0.0.1:{port}/hook" for port in ports]
    async with contextlib.AsyncExitStack() as stack:
        emu = await stack.enter_async_context(
            TelegramEmulator(token=TOKEN, bot_username="habit_e2e_bot", rate_limits=True)
        )
        for url, port in zip(urls, ports, strict=True):
            env = {
                "DATABASE_URL": db.url,
                "REDIS_URL": REDIS_URL,
                "TICK_SECONDS": "1",
                "WEBHOOK_URL": url,
                "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_HOST": "127.0.0.1",
                "WEBHOOK_PORT": str(port),
            }

            def registered(emu: TelegramEmulator, url: str = url) -> bool:
                return any(m == "setWebhook" and p.get("url") == url for m, p in emu.calls)

            await stack.enter_async_context(
                launch(tmp_path / f"p{port}", db, env, registered, emu=emu)
            )

        # A burst of commands, each to a random process, one in five to two of them at once.
        typing = [emu.user(FIRST_TYPING + i, f"T{i}") for i in range(TYPING)]
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with aiohttp.ClientSession() as http:

            async def post(url: str, update: dict) -> None:  # type: ignore[type-arg]
                async with http.post(url, json=update, headers=headers) as answer:
                    assert answer.status == 200

            posts = []
            for user in typing:
                update = emu.send_text(user, "/habit add Read every=day")
                targets = random.sample(urls, 2 if random.random() < 0.2 else 1)
                posts += [post(url, update) for url in targets]
            await asyncio.gather(*posts)

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (len(received(emu, "Added Read")) == TYPING
                    and len(received(emu, "Stretch")) == REMINDED):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # a duplicate would arrive now

    replies, reminders = received(emu, "Added Read"), received(emu, "Stretch")
    assert set(replies) == {u["id"] for u in typing} and set(replies.values()) == {1}
    assert set(reminders) == {FIRST_REMINDED + i for i in range(1, REMINDED + 1)}
    assert set(reminders.values()) == {1}
    assert emu.stats["429"] == 0
    async with db.session() as session:
        habits = await session.scalar(
            select(func.count()).select_from(Habit).where(Habit.name == "Read")
        )
    assert habits == TYPING  # an update given to two processes was applied once
