"""Two real `habitbot run` processes on one PostgreSQL database run the two shards of one Discord
bot (DISCORD_SHARD_COUNT=2, DISCORD_SHARD_IDS 0 and 1) against the Discord API emulator on
127.0.0.1, and drain one outbox of reminders: each delivered exactly once, both processes
sending, never more than Discord's 50 requests/s in total at the emulator, no 429."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from core.habits.names import name_key
from core.storage.db import Database
from core.storage.models import Account, Habit, Outbox, User
from tests.emulators.discord_api import DiscordEmulator, wait_until

PG_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
pytestmark = pytest.mark.skipif(
    not PG_URL, reason="several processes share one PostgreSQL database (TEST_DATABASE_URL)"
)

TOKEN = "MTIzNDU2.scale-out.DiscordSecretTokenValue"
# Each reminder to someone whose DM channel the process has not cached costs two requests
# (open the DM, post): 900 reminders are about 1,800 requests, some 40 s at Discord's limit.
REMINDED = 900
FIRST_USER = 900_000_000_000_000_000  # Discord user ids (snowflakes)


async def discord_users(db: Database, count: int, now: datetime, habit: str) -> list[int]:
    """`count` people who used the bot on Discord yesterday, each with a daily habit whose
    reminder is due now; returns their user ids. The scheduler's tick queues the reminders."""
    created, due = now - timedelta(days=1), now.replace(second=0, microsecond=0)
    people = [FIRST_USER + i for i in range(count)]
    async with db.engine.begin() as conn:
        ids = (
            await conn.execute(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [dict(handle=f"d{p}", name=f"D{p}", timezone="UTC", language="en",
                      profile_public=True, dm_policy="everyone", nudges=False,
                      claim_cycle_day=0, created_at=created) for p in people],
            )
        ).scalars().all()
        await conn.execute(insert(Account), [
            dict(platform="discord", external_id=str(p), user_id=uid, private_chat=f"dm:{p}",
                 unreachable=False, last_seen_at=created)
            for p, uid in zip(people, ids, strict=True)])
        await conn.execute(insert(Habit), [
            dict(user_id=uid, name=habit, name_key=name_key(habit), kind="build", schedule="day",
                 start_date=created.date(), created_at=created, remind_at=due.strftime("%H:%M"),
                 next_reminder_at=due)
            for uid in ids])
    return people


@contextlib.asynccontextmanager
async def launch(
    tmp_path: Path, name: str, env: dict[str, str], ready: Callable[[], bool]
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`habitbot run` with only a Discord token, until `ready()`; stopped by SIGTERM."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DISCORD_", "WEBHOOK_", "DATABASE_URL", "REDIS_URL"))
    }
    clean |= {"DISCORD_BOT_TOKEN": TOKEN, "DATA_DIR": str(tmp_path / f"data-{name}"),
              "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1", **env}
    log = tmp_path / f"bot-{name}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "habitbot.cli", "run", cwd=tmp_path, env=clean,
            stdout=out, stderr=asyncio.subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60  # a loaded machine starts slowly
        while not ready():
            if proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"bot {name} did not get ready:\n{log.read_text()}")
            await asyncio.sleep(0.05)
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def test_two_shard_processes_drain_one_outbox_within_discords_global_limit(
    tmp_path: Path, db: Database
) -> None:
    people = await discord_users(db, REMINDED, datetime.now(UTC), habit="Stretch")
    async with contextlib.AsyncExitStack() as stack:
        emu = await stack.enter_async_context(DiscordEmulator(TOKEN))
        envs = {}
        for shard, name in enumerate(("a", "b")):
            envs[name] = {
                "DATABASE_URL": db.url,
                "REDIS_URL": REDIS_URL,
                "TICK_SECONDS": "1",
                "DISCORD_API_BASE": await emu.endpoint(name),
                "DISCORD_SHARD_COUNT": "2",
                "DISCORD_SHARD_IDS": str(shard),
            }

        def identified(name: str) -> Callable[[], bool]:
            return lambda: any(i.endpoint == name for i in emu.identified)

        # Both start at once, as an operator's two units would.
        started_procs = await asyncio.gather(*(
            stack.enter_async_context(launch(tmp_path, name, env, identified(name)))
            for name, env in envs.items()
        ))
        procs = dict(zip(envs, started_procs, strict=True))

        def reminded() -> int:
            return len({d.user_id for d in emu.delivered if "Stretch" in d.shown})

        started = time.monotonic()
        await wait_until(lambda: reminded() == REMINDED, timeout=90)
        drained = time.monotonic() - started
        await asyncio.sleep(2)  # a duplicate would arrive now
        for proc in procs.values():
            assert proc.returncode is None  # both still running

    assert sorted(i.shard for i in emu.identified) == [[0, 2], [1, 2]]
    assert {i.endpoint: i.shard for i in emu.identified} == {"a": [0, 2], "b": [1, 2]}
    assert emu.stats["heartbeat"] >= 2  # discord.py beats once on HELLO, then every 41 s
    assert not emu.unknown, emu.unknown
    counts = Counter(d.user_id for d in emu.delivered if "Stretch" in d.shown)
    assert set(counts) == set(people), f"{len(set(people) - set(counts))} reminders missing"
    assert set(counts.values()) == {1}, counts.most_common(3)
    assert len(emu.delivered) == REMINDED  # and nothing else
    assert {r.endpoint for r in emu.requests} == {"a", "b"}
    by_process = Counter(d.endpoint for d in emu.delivered)
    assert by_process["a"] > 0 and by_process["b"] > 0, by_process
    assert emu.stats["429"] == 0, dict(emu.stats)
    assert emu.stats["401"] == 0
    busiest = emu.max_per_second()
    print(f"{REMINDED} reminders drained in {drained:.1f} s after both shards were up; "
          f"{len(emu.requests)} requests, at most {busiest} in any second; "
          f"sent by process: {dict(by_process)}; 429: {emu.stats['429']}")
    assert busiest <= 50, f"{busiest} requests in one second at the emulator"
    async with db.session() as session:
        left = await session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.status != "sent")
        )
    assert left == 0
