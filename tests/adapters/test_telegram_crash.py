"""Nothing a user typed is lost or applied twice when the bot dies: the real `habitbot run`
process long-polls the Telegram Bot API emulator (which, like Telegram, keeps updates until the
bot confirms them by the next getUpdates offset) and is killed mid-burst, then started again."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from core.storage.db import Database
from core.storage.models import Account, CheckIn, LedgerEntry
from tests.adapters.test_telegram_e2e import TOKEN, launch
from tests.emulators.telegram_api import TelegramEmulator
from tests.fakes import telegram_users

USERS = 600
DONE = "Read: 5/20 pages"  # what the /done reply says


def same_db(db: Database) -> dict[str, str]:
    return {"DATABASE_URL": db.url}  # the bot's database is the one this test reads


def polling(emu: TelegramEmulator) -> bool:
    return any(method == "getUpdates" for method, _ in emu.calls)


def replies(emu: TelegramEmulator, fragment: str, start: int = 0) -> Counter[int]:
    """How many messages containing `fragment` each chat got."""
    return Counter(
        r["chat_id"] for r in emu.sent[start:] if fragment in (r.get("text") or "")
    )


async def until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def burst_of_check_ins(db: Database, emu: TelegramEmulator) -> list[dict]:
    """600 users, each with a measurable habit, ready to type."""
    chats = await telegram_users(
        db, 5000, USERS, datetime.now(UTC), habit="Read", target=20, unit="pages"
    )
    return [emu.user(chat, f"U{chat}") for chat in chats]


async def stored_check_ins(db: Database) -> tuple[int, int, int]:
    """(check-ins, users whose amount is exactly 5, coin entries for check-ins)."""
    async with db.session() as session:
        rows = (await session.execute(select(CheckIn.amount))).scalars().all()
        coins = await session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.currency == "coin")
        )
    return len(rows), sum(1 for amount in rows if amount == 5), int(coins or 0)


async def test_kill_9_mid_burst_loses_no_command_and_applies_none_twice(
    tmp_path: Path, db: Database
) -> None:
    async with TelegramEmulator(token=TOKEN, bot_username="habit_e2e_bot") as emu:
        users = await burst_of_check_ins(db, emu)
        start = len(emu.sent)
        async with launch(tmp_path, db, same_db(db), polling, emu=emu) as bot:
            for user in users:
                emu.send_text(user, "/done Read 5")
            await until(lambda: len(replies(emu, DONE, start)) >= USERS // 4, 60, "a quarter")
            bot.proc.kill()  # SIGKILL: no shutdown code runs
            await bot.proc.wait()
        answered_before = len(replies(emu, DONE, start))
        assert answered_before < USERS, "the kill came too late to prove anything"

        async with launch(tmp_path, db, same_db(db), polling, emu=emu) as bot:
            await until(lambda: len(replies(emu, DONE, start)) == USERS, 180, "every reply")
            await asyncio.sleep(1)  # anything sent twice would arrive now
            bot.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.proc.wait(), 20) == 0
            log = bot.log.read_text()

    got = replies(emu, DONE, start)
    assert set(got) == {u["id"] for u in users}
    twice = sum(n - 1 for n in got.values())
    # Only a reply in flight at the kill (sent, but not yet written down as sent) may arrive a
    # second time: at most one getUpdates batch (100 updates) is handled at once.
    assert twice < 100, f"{twice} replies arrived twice"
    checkins, exactly_five, coins = await stored_check_ins(db)
    assert (checkins, exactly_five) == (USERS, USERS)  # every /done Read 5 applied once
    assert coins == USERS
    assert "Traceback" not in log and "Something went wrong" not in str(emu.sent)


async def test_sigterm_mid_burst_with_a_slow_bot_api_answers_everyone(
    tmp_path: Path, db: Database
) -> None:
    async with TelegramEmulator(token=TOKEN, bot_username="habit_e2e_bot") as emu:
        users = await burst_of_check_ins(db, emu)
        start = len(emu.sent)
        emu.send_delay = 0.3  # every send takes 300 ms to answer
        async with launch(tmp_path, db, same_db(db), polling, emu=emu) as bot:
            for user in users:
                emu.send_text(user, "/done Read 5")
            await until(lambda: len(replies(emu, DONE, start)) >= 50, 60, "the first replies")
            bot.proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.proc.wait(), 30) == 0
            first_log = bot.log.read_text()
        emu.send_delay = 0.0
        async with launch(tmp_path, db, same_db(db), polling, emu=emu) as bot:
            await until(lambda: len(replies(emu, DONE, start)) == USERS, 180, "every reply")
            await asyncio.sleep(1)

    got = replies(emu, DONE, start)
    assert set(got) == {u["id"] for u in users}
    assert sum(got.values()) == USERS  # a clean stop sends nothing twice
    assert "Traceback" not in first_log and "Stopped." in first_log, first_log
    assert not any("went wrong" in (r.get("text") or "") for r in emu.sent)
    assert await stored_check_ins(db) == (USERS, USERS, USERS)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == USERS
