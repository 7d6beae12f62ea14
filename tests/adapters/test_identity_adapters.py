"""One person on Telegram and Discord: handles from platform usernames, /link across the two
adapters, /export as a Telegram document and a Discord attachment, /deleteme by button. Both
adapters run on the same database, Telegram through aiogram and the emulator, Discord through
discord.py's real CommandTree and the harness."""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bots.commands import Deps
from bots.console.repl import Console
from bots.discord.app import HabitbotDiscord
from bots.telegram.app import TelegramBot
from core.clock import FakeClock
from core.storage.models import Account, User
from tests.emulators.discord_harness import DiscordHarness
from tests.emulators.telegram_api import TelegramEmulator

JsonDict = dict[str, Any]
GUILD, CHANNEL = 5000, 5001
GROUP = {"id": -1001000000001, "type": "supergroup", "title": "Runners"}


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(bot_username="habit_test_bot") as e:
        yield e


@pytest.fixture
async def tg(emu: TelegramEmulator, deps: Deps) -> AsyncIterator[TelegramBot]:
    bot = TelegramBot(deps, emu.token, emu.base_url)
    yield bot
    await bot.close()


@pytest.fixture
async def dc(deps: Deps) -> AsyncIterator[DiscordHarness]:
    harness = DiscordHarness(HabitbotDiscord(deps))
    await harness.start()
    harness.add_guild(GUILD, "Runners", owner_id=1, channel_ids=[CHANNEL])
    yield harness
    await harness.close()


async def tg_say(
    emu: TelegramEmulator, tg: TelegramBot, user: JsonDict, text: str, chat: JsonDict | None = None
) -> list[JsonDict]:
    start = len(emu.sent)
    await tg.dp.feed_raw_update(tg.bot, emu.send_text(user, text, chat=chat))
    return emu.sent[start:]


async def test_telegram_and_discord_become_one_person(
    emu: TelegramEmulator, tg: TelegramBot, dc: DiscordHarness, deps: Deps
) -> None:
    ann = emu.user(1001, "Ann", username="Ann_Reads")
    alice = dc.user(42, "alice")
    [shown] = await tg_say(emu, tg, ann, "/handle")
    assert "You are @ann_reads." in shown["text"]  # from the Telegram username
    await tg_say(emu, tg, ann, "/habit add Read")
    await tg_say(emu, tg, ann, "/done Read")
    handle = await dc.slash(alice, "handle")
    assert "@alice" in (handle.content or "")
    await dc.slash(alice, "habit add", {"name": "Read"})
    await dc.slash(alice, "done", {"habit": "Read"})

    # The code is asked for in a server: it is answered ephemerally, never to the channel.
    asked = await dc.slash(alice, "link", guild_id=GUILD, channel_id=CHANNEL)
    assert asked.response is not None and asked.response["flags"] == 64
    found = re.search(r"\*\*(\d{6})\*\*", asked.content or "")
    assert found, asked.content
    assert "`/link code:" in (asked.content or "")  # Discord's own syntax for the next step
    [linked] = await tg_say(emu, tg, ann, f"/link {found.group(1)}")
    assert "Linked: this account is now part of @alice." in linked["text"]
    assert "telegram:1001, discord:42" in linked["text"]
    assert "20 coins" in linked["text"]

    wallet = await dc.slash(alice, "wallet")
    assert "coins: 20" in (wallet.content or "")
    [tg_wallet] = await tg_say(emu, tg, ann, "/wallet")
    assert "coins: 20" in tg_wallet["text"]
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 1
        owners = set(await session.scalars(select(Account.user_id)))
    assert len(owners) == 1

    # A wrong code on Telegram: a clear reply, escaped like any text.
    [wrong] = await tg_say(emu, tg, ann, "/link <b>1</b>")
    assert "6 digits" in wrong["text"]


async def test_export_as_a_document_and_an_attachment(
    emu: TelegramEmulator, tg: TelegramBot, dc: DiscordHarness
) -> None:
    ann = emu.user(1001, "Ann", username="ann")
    await tg_say(emu, tg, ann, "/habit add Read")
    await tg_say(emu, tg, ann, "/done Read")
    # Asked in a group: the files go to the private chat, a note stays in the group.
    sent = await tg_say(emu, tg, ann, "/export", chat=GROUP)
    methods = [(r["method"], r["chat_id"]) for r in sent]
    assert methods == [
        ("sendMessage", 1001),
        ("sendDocument", 1001),
        ("sendDocument", 1001),
        ("sendMessage", GROUP["id"]),
    ], methods
    names = [r["file_name"] for r in sent[1:3]]
    assert names == ["habitbot-ann-2026-03-02.json", "habitbot-ann-2026-03-02-checkins.csv"]
    data = json.loads(emu.files[sent[1]["document"]])
    assert data["user"]["handle"] == "ann" and data["checkins"][0]["habit"] == "Read"
    assert emu.files[sent[2]["document"]].decode().splitlines()[1].startswith("Read,2026-03-02")

    alice = dc.user(42, "alice")
    await dc.slash(alice, "habit add", {"name": "Walk"})
    r = await dc.slash(alice, "export", guild_id=GUILD, channel_id=CHANNEL)
    assert r.response is not None and r.response["flags"] == 64  # only alice sees it
    files = dict(r.response["files"])
    assert set(files) == {
        "habitbot-alice-2026-03-02.json",
        "habitbot-alice-2026-03-02-checkins.csv",
    }
    assert json.loads(files["habitbot-alice-2026-03-02.json"])["habits"][0]["name"] == "Walk"


async def test_deleteme_by_button_on_both(
    emu: TelegramEmulator, tg: TelegramBot, dc: DiscordHarness, deps: Deps
) -> None:
    ann = emu.user(1001, "Ann", username="ann")
    await tg_say(emu, tg, ann, "/habit add Read")
    [asked] = await tg_say(emu, tg, ann, "/deleteme")
    button, cancel = [b for row in asked["reply_markup"]["inline_keyboard"] for b in row]
    assert "cannot be undone" in asked["text"] and "Cancel" in cancel["text"]
    # Someone else pressing Ann's button deletes nothing.
    bob = emu.user(1002, "Bob")
    start = len(emu.sent)
    await tg.dp.feed_raw_update(
        tg.bot, emu.press_button(bob, asked["message"], button["callback_data"])
    )
    assert "not yours" in (emu.callback_answers[-1].get("text") or "")
    await tg.dp.feed_raw_update(
        tg.bot, emu.press_button(ann, asked["message"], button["callback_data"])
    )
    [done] = emu.sent[start:]
    assert done["method"] == "editMessageText" and "Deleted: your 1 habit(s)" in done["text"]
    async with deps.db.session() as session:
        tomb = await session.scalar(select(User).where(User.deleted_at.is_not(None)))
    assert tomb is not None and tomb.name == "deleted user"

    alice = dc.user(42, "alice")
    asked_dc = await dc.slash(alice, "deleteme")
    assert asked_dc.response is not None
    custom_id, _cancel = [
        c["custom_id"] for row in asked_dc.response["components"] for c in row["components"]
    ]
    gone = await dc.click(alice, custom_id, message=asked_dc.response["message"])
    assert "Deleted" in (gone.content or "")
    async with deps.db.session() as session:
        deleted = await session.scalar(
            select(func.count()).select_from(User).where(User.deleted_at.is_not(None))
        )
    assert deleted == 2


async def test_console_export_writes_files_and_prints_their_paths(
    deps: Deps, clock: FakeClock, tmp_path: Path
) -> None:
    out = io.StringIO()
    console = Console(deps, clock, out=out, file_dir=tmp_path / "files")
    for line in ("/habit add Read", "/done Read", "/export"):
        assert await console.handle(line)
    paths = re.findall(r"\(file saved to (\S+)\)", out.getvalue())
    # "me" is short for a handle: the console's default user is @me_<4 hex>.
    names = [Path(p).name for p in paths]
    assert re.fullmatch(r"habitbot-me_[0-9a-f]{4}-2026-03-02\.json", names[0]), names
    assert names[1] == names[0].replace(".json", "-checkins.csv")
    saved = _read(paths)
    assert json.loads(saved[0])["checkins"][0]["habit"] == "Read"
    assert saved[1].startswith("habit,date,amount,logged_at")


def _read(paths: list[str]) -> list[str]:
    return [Path(p).read_text() for p in paths]


async def test_console_deleteme_by_its_button(deps: Deps, clock: FakeClock) -> None:
    out = io.StringIO()
    console = Console(deps, clock, out=out)
    for line in (":as ann", "/habit add Read", "/deleteme"):
        assert await console.handle(line)
    assert "[1] 🗑 Yes, delete everything" in out.getvalue()
    assert await console.handle(":as bob")  # the button is Ann's: Bob pressing it is refused
    assert await console.handle("1")
    assert "not yours" in out.getvalue()
    assert await console.handle(":as ann")
    assert await console.handle("/deleteme")
    assert await console.handle("1")
    assert "Deleted: your 1 habit(s)" in out.getvalue()


async def test_a_code_from_telegram_typed_on_discord_and_unlinked_again(
    emu: TelegramEmulator, tg: TelegramBot, dc: DiscordHarness, deps: Deps
) -> None:
    ann = emu.user(1001, "Ann", username="ann")
    alice = dc.user(42, "alice")
    await tg_say(emu, tg, ann, "/habit add Read")
    await tg_say(emu, tg, ann, "/done Read")
    [shown] = await tg_say(emu, tg, ann, "/link")
    found = re.search(r"code: (\d{6})", shown["text"])
    assert found and "/link " + found.group(1) in shown["text"]  # Telegram's own syntax
    wrong = await dc.slash(alice, "link", {"code": "000000" if found.group(1) != "000000" else "1"})
    assert wrong.response is not None and "not right" in (wrong.content or "")
    linked = await dc.slash(alice, "link", {"code": found.group(1)})
    assert "Linked: this account is now part of **@ann**." in (linked.content or "")
    assert "Read" in ((await dc.slash(alice, "habit list")).content or "")
    split = await dc.slash(alice, "unlink")
    assert "This account (discord:42) is on its own again, as **@alice**" in (split.content or "")
    assert "No habits" in ((await dc.slash(alice, "habit list")).content or "")
    [listed] = await tg_say(emu, tg, ann, "/habit list")
    assert "Read" in listed["text"]
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(User)) == 2
