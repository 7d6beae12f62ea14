"""A busy Telegram group stays within the platform's limits: check-ins there are acknowledged
with a reaction, and one day message, edited after each burst, says who has checked in.
Driven through the aiogram dispatcher against the emulator, which enforces Telegram's rates
(30 requests a second, 20 messages a minute per group, edits included)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bots.commands import Deps
from bots.telegram.app import TelegramBot
from bots.telegram.group_day import GroupDays
from bots.telegram.handlers import Services
from scheduler.limits import TELEGRAM, Limiter
from tests.adapters.test_telegram_adapter import BOT, Harness
from tests.emulators.telegram_api import TelegramEmulator
from tests.fakes import telegram_users

GROUP = {"id": -100500, "type": "supergroup", "title": "Runners"}


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(bot_username=BOT, rate_limits=True) as e:
        yield e


@pytest.fixture
async def tg(emu: TelegramEmulator, deps: Deps) -> AsyncIterator[TelegramBot]:
    limiter = Limiter(TELEGRAM)
    bot = TelegramBot(deps, emu.token, emu.base_url, limiter=limiter)
    services: Services = bot.services
    services.group_days = GroupDays(bot.bot, deps, limiter, delay=1.0)
    yield bot
    await bot.drain()
    await bot.close()


async def test_sixty_check_ins_in_a_minute_cost_the_group_a_few_messages(
    emu: TelegramEmulator, tg: TelegramBot, deps: Deps
):
    h = Harness(emu, tg)
    emu.add_chat(GROUP)
    chats = await telegram_users(deps.db, 9100, 60, deps.clock.now(), habit="Walk")
    members = [emu.user(chat, f"U{chat}") for chat in chats]

    async def check_in(member: dict) -> list[dict]:
        return await h.say(member, "/done Walk", chat=GROUP)

    for wave in range(3):  # twenty at a time, a moment apart
        sent = await asyncio.gather(*(check_in(m) for m in members[wave * 20 : wave * 20 + 20]))
        # No message for a check-in; the day message may land in a wave (it follows the first
        # check-in of a burst by 1 s, about when a wave of 20 ends on PostgreSQL).
        extra = [r for s in sent for r in s]
        assert all((r.get("text") or "").startswith("📋 Runners") for r in extra), extra
        await asyncio.sleep(0.3)
    await asyncio.sleep(1.5)  # the day message follows the burst
    await tg.services.group_days.close()

    assert emu.stats["429"] == 0
    acked = {(r["chat_id"], r["message_id"]) for r in emu.reactions}
    assert len(acked) == 60 and all(r["reaction"][0]["emoji"] == "👍" for r in emu.reactions)
    to_group = [r for r in emu.sent if r["chat_id"] == GROUP["id"]]
    assert 1 <= len(to_group) <= 4, [r["method"] for r in to_group]
    assert to_group[0]["method"] == "sendMessage"
    assert all(r["method"] == "editMessageText" for r in to_group[1:])
    latest = to_group[-1]["message"]["text"]
    assert latest.startswith("📋 Runners, Mon 02 Mar") and "60 people checked in" in latest, latest

    # Every check-in was stored, and the next day starts a new message.
    wallet = await h.say(members[0], "/wallet")
    assert "coins: 10" in wallet[0]["text"]


async def test_a_check_in_that_earns_a_badge_is_still_told_in_the_group(
    emu: TelegramEmulator, tg: TelegramBot, deps: Deps
):
    h = Harness(emu, tg)
    emu.add_chat(GROUP)
    ann = emu.user(9201, "Ann")
    await h.say(ann, "/habit add Walk every=day")
    for day in range(3):
        sent = await h.say(ann, "/done Walk", chat=GROUP)
        if day < 2:
            assert sent == [] and len(emu.reactions) == day + 1
            deps.clock.advance(timedelta(days=1))
    # The third day's check-in earns the 3-day badge: news worth a message in the group.
    assert len(sent) == 1 and "badge" in sent[0]["text"].lower(), sent
