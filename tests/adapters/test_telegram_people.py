"""Profiles on Telegram: updates through the real aiogram dispatcher, the Bot API emulator
answering. The profile's buttons are signed for the viewer and work when pressed; user text
is escaped; a profile asked for in a group goes to the private chat; operators get their own
command menu."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bots.commands import Deps
from bots.telegram.app import TelegramBot
from bots.telegram.menu import publish
from core.clock import FakeClock
from core.storage.db import Database
from tests.adapters.test_telegram_adapter import BOT, GROUP, Harness, buttons
from tests.emulators.telegram_api import TelegramEmulator


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(bot_username=BOT) as e:
        yield e


@pytest.fixture
async def tg(emu: TelegramEmulator, db: Database, clock: FakeClock) -> AsyncIterator[TelegramBot]:
    deps = Deps(db, clock, operators=frozenset({"telegram:9001"}))
    bot = TelegramBot(deps, emu.token, emu.base_url)
    yield bot
    await bot.close()


@pytest.fixture
def h(emu: TelegramEmulator, tg: TelegramBot) -> Harness:
    return Harness(emu, tg)


async def test_profile_with_follow_and_report_buttons(h: Harness, emu: TelegramEmulator) -> None:
    ann, bob = emu.user(1001, "Ann"), emu.user(1002, "Bob")
    await h.say(ann, "/start")
    await h.say(bob, "/start")
    await h.say(ann, "/bio <b>not bold</b> & proud")
    [profile] = await h.say(bob, "/profile @Ann")
    assert profile["chat_id"] == 1002 and profile["parse_mode"] == "HTML"
    # The emulator parses the HTML as Telegram does: the tags arrive as text, not as bold.
    assert "<b>not bold</b> & proud" in profile["text"]
    follow, report = buttons(profile)
    assert follow["text"] == "➕ Follow" and report["text"] == "🚩 Report"
    assert follow["callback_data"].endswith(".follow|@ann")  # signed and bound to Bob
    assert report["callback_data"].endswith(".report|@ann")

    # Someone else pressing Bob's button is refused; Bob's press follows Ann.
    await h.press(ann, profile, follow["callback_data"])
    assert "not yours" in (emu.callback_answers[-1].get("text") or "")
    [followed] = await h.press(bob, profile, follow["callback_data"])
    assert followed["method"] == "editMessageText" and "You follow @ann now" in followed["text"]
    [mine] = await h.say(ann, "/profile")
    assert "1 follower · 0 following" in mine["text"] and buttons(mine) == []

    # The Report button asks why, with reasons to pick.
    [why] = await h.press(bob, profile, report["callback_data"])
    spam = next(b for b in buttons(why) if b["text"] == "Spam")
    [received] = await h.press(bob, why, spam["callback_data"])
    assert "your report about @ann was received" in received["text"]


async def test_a_private_profile_shows_only_handle_and_an_ask_button(
    h: Harness, emu: TelegramEmulator
) -> None:
    ann, bob = emu.user(1001, "Ann"), emu.user(1002, "Bob")
    await h.say(ann, "/start")
    await h.say(ann, "/bio secret life")
    await h.say(ann, "/settings profile=private")
    [profile] = await h.say(bob, "/profile @ann")
    assert profile["text"].startswith("@ann\n") and "secret" not in profile["text"]
    ask, _ = buttons(profile)
    assert ask["text"] == "➕ Ask to follow"
    [asked] = await h.press(bob, profile, ask["callback_data"])
    assert "asked them to approve you" in asked["text"]
    [requests] = await h.say(ann, "/requests")
    approve = next(b for b in buttons(requests) if b["text"].startswith("✅"))
    [approved] = await h.press(ann, requests, approve["callback_data"])
    assert "@bob follows you now" in approved["text"]
    [full] = await h.say(bob, "/profile @ann")
    assert "secret life" in full["text"]


async def test_a_profile_asked_in_a_group_goes_to_the_private_chat(
    h: Harness, emu: TelegramEmulator
) -> None:
    ann, bob = emu.user(1001, "Ann"), emu.user(1002, "Bob")
    await h.say(ann, "/start")
    await h.say(ann, "/bio hello group")
    await h.say(bob, "/start")
    sent = await h.say(bob, f"/profile@{BOT} @ann", chat=GROUP)
    to_bob = [m for m in sent if m["chat_id"] == 1002]
    to_group = [m for m in sent if m["chat_id"] == GROUP["id"]]
    assert to_bob and "hello group" in to_bob[0]["text"]
    assert all("hello group" not in m["text"] for m in to_group)


async def test_operator_commands_only_in_the_operators_menu(
    h: Harness, emu: TelegramEmulator, tg: TelegramBot
) -> None:
    boss, bob = emu.user(9001, "Boss"), emu.user(1002, "Bob")
    await h.say(boss, "/start")
    await h.say(bob, "/start")
    assert await publish(tg.bot, operators=tg.services.deps.operators)
    everyone = {c["command"] for c in emu.commands["all_private_chats"]}
    operator = {c["command"] for c in emu.commands["chat:9001"]}
    assert {"profile", "follow", "people", "block", "report"} <= everyone
    assert not {"verify", "unverify", "reports"} & everyone
    assert {"verify", "unverify", "reports"} | everyone == operator
    [unknown] = await h.say(bob, "/verify @boss")
    assert "Unknown command /verify" in unknown["text"]
    [verified] = await h.say(boss, "/verify @bob")
    assert "@bob ✔ is verified now" in verified["text"]
