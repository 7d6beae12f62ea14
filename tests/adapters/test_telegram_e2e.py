"""End-to-end: the real `habitbot run` process long-polls the Telegram Bot API emulator over
HTTP on 127.0.0.1, and this test acts as the people using it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.storage.db import Database
from tests.emulators.telegram_api import TelegramEmulator

JsonDict = dict[str, Any]
TOKEN = "987654:AAH-e2e_SecretTokenValue"
GROUP = {"id": -1002000000002, "type": "supergroup", "title": "Gym"}
PG_URL = os.environ.get("TEST_DATABASE_URL")
_starts = itertools.count()


class Bot:
    """The bot process plus the emulator it talks to."""

    def __init__(self, emu: TelegramEmulator, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.emu, self.proc, self.log = emu, proc, log

    async def ask(
        self,
        user: JsonDict,
        text: str,
        expect: Callable[[JsonDict], bool],
        chat: JsonDict | None = None,
    ) -> JsonDict:
        start = len(self.emu.sent)
        self.emu.send_text(user, text, chat=chat)
        return await self.emu.wait_for(expect, timeout=15, start=start)

    async def press(
        self, user: JsonDict, message: JsonDict, data: str, expect: Callable[[JsonDict], bool]
    ) -> JsonDict:
        start = len(self.emu.sent)
        self.emu.press_button(user, message, data)
        return await self.emu.wait_for(expect, timeout=15, start=start)


def says(fragment: str, chat: int | None = None) -> Callable[[JsonDict], bool]:
    def match(rec: JsonDict) -> bool:
        shown = rec.get("text") or rec.get("caption") or ""
        return fragment in shown and (chat is None or rec["chat_id"] == chat)

    return match


@contextlib.asynccontextmanager
async def launch(
    tmp_path: Path,
    db: Database,
    extra_env: dict[str, str],
    ready: Callable[[TelegramEmulator], bool],
    emu: TelegramEmulator | None = None,
) -> AsyncIterator[Bot]:
    """`habitbot run` as a subprocess against `emu` (else a fresh emulator, stopped after);
    stopped by SIGTERM."""
    own = emu is None
    if emu is None:
        emu = TelegramEmulator(token=TOKEN, bot_username="habit_e2e_bot")
        await emu.start()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DISCORD_", "WEBHOOK_", "DATABASE_URL"))
    }
    env |= {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE": emu.base_url,
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        **extra_env,
    }
    if PG_URL:  # the `db` fixture just emptied this PostgreSQL database
        env["DATABASE_URL"] = db.url
    log = tmp_path / f"bot{next(_starts)}.log"  # one per start
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "habitbot.cli",
            "run",
            cwd=tmp_path,  # no stray .env from the developer's checkout
            env=env,
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
        )
    bot = Bot(emu, proc, log)
    try:
        deadline = time.monotonic() + 60  # a loaded machine starts slowly
        while not ready(emu):
            if proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"bot did not get ready:\n{log.read_text()}")
            await asyncio.sleep(0.05)
        yield bot
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if own:
            await emu.stop()


@pytest.fixture
async def running(tmp_path: Path, db: Database) -> AsyncIterator[Bot]:
    def polling(emu: TelegramEmulator) -> bool:
        return any(method == "getUpdates" for method, _ in emu.calls)

    async with launch(tmp_path, db, {}, polling) as bot:
        yield bot


async def test_private_onboarding_check_in_and_a_group_challenge(running: Bot) -> None:
    emu = running.emu
    ann, boss, bob = emu.user(1001, "Ann"), emu.user(2001, "Boss"), emu.user(2002, "Bob")

    # The command menu was published from the registry at startup.
    assert {"all_private_chats", "all_group_chats", "all_chat_administrators"} <= set(emu.commands)

    # Private onboarding and a check-in by button.
    hello = await running.ask(ann, "/start", says("Hi Ann", 1001))
    assert "/timezone" in hello["text"]
    added = await running.ask(ann, "/habit add Read every=day", says("Added Read", 1001))
    [[button]] = added["reply_markup"]["inline_keyboard"]
    done = await running.press(ann, added, button["callback_data"], says("Read done for today"))
    assert "Streak: 1 day" in done["text"] and "+10 coins" in done["text"]
    assert emu.callback_answers and emu.callback_answers[-1].get("text") is None

    # A group: the admin creates a challenge, a member joins, checks in, sees the board.
    emu.add_chat(GROUP)
    emu.set_member_status(GROUP["id"], boss["id"], "creator")
    gid = GROUP["id"]
    made = await running.ask(
        boss,
        "/challenge new Move Week days=7 habits=Walk;Stretch",
        says("created", gid),
        chat=GROUP,
    )
    assert "Move Week" in made["text"]
    refused = await running.ask(
        bob, "/challenge new Mine days=7 habits=Read", says("admins", gid), chat=GROUP
    )
    assert refused["message"]["reply_to_message"]["from"]["id"] == bob["id"]
    await running.ask(bob, "/join 1", says("You joined", gid), chat=GROUP)
    # A check-in in the group is acknowledged with a reaction on it, not a message.
    update = running.emu.send_text(bob, "/done Walk", chat=GROUP)
    checked = update["message"]["message_id"]
    for _ in range(150):
        if any(r["message_id"] == checked for r in running.emu.reactions):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("no reaction on the check-in")
    board = await running.ask(
        bob, "/leaderboard@habit_e2e_bot", says("Leaderboard: Move Week", gid), chat=GROUP
    )
    assert "Bob" in (board.get("text") or board.get("caption") or "")
    wallet = await running.ask(bob, "/wallet", says("wallet", bob["id"]), chat=GROUP)
    assert "coins" in wallet["text"]

    # Stop it like a service manager would, while the group note for /wallet is still on its
    # way: the update in progress finishes before the process exits.
    running.proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(running.proc.wait(), 15) == 0
    assert any(says("private chat", gid)(r) for r in emu.sent)
    output = running.log.read_text()
    assert "Stopped." in output and "Traceback" not in output, output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output


async def test_webhook_mode(tmp_path: Path, db: Database) -> None:
    with socket.socket() as probe:  # a free port for the bot's webhook server
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/telegram/hook"
    env = {
        "WEBHOOK_URL": url,
        "WEBHOOK_SECRET": "hook-secret-123",
        "WEBHOOK_HOST": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
    }
    async with launch(tmp_path, db, env, lambda emu: emu.webhook_url == url) as running:
        emu = running.emu
        assert not any(method == "getUpdates" for method, _ in emu.calls)
        ann = emu.user(1001, "Ann")
        update = emu.send_text(ann, "/start")
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update) as denied:
                assert denied.status == 401
            headers = {"X-Telegram-Bot-Api-Secret-Token": "hook-secret-123"}
            async with http.post(url, json=update, headers=headers) as accepted:
                assert accepted.status == 200
        await emu.wait_for(says("Hi Ann", 1001), timeout=15)
        running.proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(running.proc.wait(), 15) == 0
        output = running.log.read_text()
        assert "hook-secret-123" not in output and TOKEN not in output
