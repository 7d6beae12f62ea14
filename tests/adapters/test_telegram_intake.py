"""Durable intake in the Telegram adapter: replies recorded with their effects, retried or left
to the outbox when the Bot API refuses them for now, and updates seen twice (a replay after a
crash, two webhook processes) applied and answered once."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiogram.types import Update
from sqlalchemy import func, select

from bots.commands import Deps
from bots.reply import Reply
from bots.telegram.app import TelegramBot
from core.clock import FakeClock
from core.intake import hold
from core.storage import cipher
from core.storage.models import CheckIn, HeldUpdate, Outbox
from scheduler.dispatcher import Dispatcher
from tests.adapters.test_telegram_adapter import Harness, emu, h, tg
from tests.emulators.telegram_api import TelegramEmulator

__all__ = ["emu", "h", "tg"]


async def answers(deps: Deps) -> list[Outbox]:
    async with deps.db.session() as session:
        return list(
            await session.scalars(select(Outbox).where(Outbox.kind == "answer").order_by(Outbox.id))
        )


async def check_ins(deps: Deps) -> list[float | None]:
    async with deps.db.session() as session:
        return list(await session.scalars(select(CheckIn.amount)))


async def written_down(deps: Deps, status: str = "sent") -> None:
    for _ in range(100):  # receipts are written in the background, in batches
        if all(a.status == status for a in await answers(deps)):
            return
        await asyncio.sleep(0.02)
    raise AssertionError([(a.id, a.status) for a in await answers(deps)])


async def test_a_reply_is_recorded_with_its_effects_and_written_down_as_sent(
    h: Harness, emu: TelegramEmulator, deps: Deps
):
    ann = emu.user(7001, "Ann")
    await h.say(ann, "/habit add Read every=day")
    [done] = await h.say(ann, "/done Read")
    assert "Read done for today" in done["text"]
    await written_down(deps)
    rows = await answers(deps)
    assert len(rows) == 2 and all(r.chat == "7001" for r in rows)
    assert Reply.from_data(rows[-1].data["reply"]).plain().startswith("✅ Read done for today.")


async def test_a_5xx_on_the_reply_is_retried_at_once(
    h: Harness, emu: TelegramEmulator, deps: Deps
):
    ann = emu.user(7002, "Ann")
    emu.fail_next("sendMessage", 502, "Bad Gateway")
    sent = await h.say(ann, "/start")
    assert len(sent) == 1 and "Hi Ann" in sent[0]["text"]
    await written_down(deps)


async def test_a_long_429_leaves_the_reply_to_the_outbox(
    h: Harness, emu: TelegramEmulator, deps: Deps, tg: TelegramBot
):
    ann = emu.user(7003, "Ann")
    emu.fail_next("sendMessage", 429, "Too Many Requests: retry after 30", retry_after=30)
    assert await h.say(ann, "/start") == []  # no apology either
    [row] = await answers(deps)
    assert row.status == "pending" and row.claimed_until is None
    assert row.not_before >= deps.clock.now() + timedelta(seconds=29)

    later = FakeClock(deps.clock.now() + timedelta(seconds=31))
    await Dispatcher(deps.db, tg.notifier, later).drain()
    assert "Hi Ann" in emu.sent[-1]["text"]
    [row] = await answers(deps)
    assert row.status == "sent"


async def test_the_same_update_twice_at_once_is_applied_and_answered_once(
    h: Harness, emu: TelegramEmulator, deps: Deps
):
    ann = emu.user(7004, "Ann")
    await h.say(ann, "/habit add Read every=day target=20 unit=pages")
    update = emu.send_text(ann, "/done Read 5")
    start = len(emu.sent)
    await asyncio.gather(h.feed(update), h.feed(update))  # two webhook processes, one update
    assert [m["text"].split("\n")[0] for m in emu.sent[start:]] == ["✅ Read: 5/20 pages."]
    assert await check_ins(deps) == [5]

    await h.feed(update)  # and again later, as a replay after a crash would
    assert len(emu.sent) == start + 1 and await check_ins(deps) == [5]


async def test_plain_text_seen_twice_is_answered_once(h: Harness, emu: TelegramEmulator):
    ann = emu.user(7005, "Ann")
    update = emu.send_text(ann, "hello there")  # not a command: the hint, recorded like any reply
    start = len(emu.sent)
    await asyncio.gather(h.feed(update), h.feed(update))
    await h.feed(update)
    sent = emu.sent[start:]
    assert len(sent) == 1 and "Commands start with /" in sent[0]["text"], sent


async def test_a_held_update_is_replayed_at_start(
    h: Harness, emu: TelegramEmulator, deps: Deps, tg: TelegramBot
):
    ann = emu.user(7005, "Ann")
    update = emu.send_text(ann, "/start")
    async with deps.db.session() as session:  # a previous process held it, then died
        await hold(session, "telegram", [(str(update["update_id"]), update)], deps.clock.now())
        [payload] = await session.scalars(select(HeldUpdate.payload))
    assert "Ann" not in repr(payload) and "/start" not in repr(payload)  # kept encrypted
    assert await tg.intake.replay() == 1
    assert "Hi Ann" in emu.sent[-1]["text"]
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(HeldUpdate)) == 0


async def test_a_slow_update_is_held_until_answered(
    emu: TelegramEmulator, tg: TelegramBot, deps: Deps
):
    ann = emu.user(7006, "Ann")
    update = Update.model_validate(emu.send_text(ann, "/start"), context={"bot": tg.bot})
    emu.send_delay = 0.5
    tg.intake.settle_after = 0.1
    await tg.intake.take([update])  # returns before the reply went out: the update is held
    async with deps.db.session() as session:
        [held] = await session.scalars(select(HeldUpdate))
    assert held.key == str(update.update_id)
    await tg.drain()
    assert "Hi Ann" in emu.sent[-1]["text"]
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(HeldUpdate)) == 0


async def test_a_held_update_no_key_opens_is_left_out_of_the_replay(
    h: Harness, emu: TelegramEmulator, deps: Deps, tg: TelegramBot
):
    ann = emu.user(7007, "Ann")
    update = emu.send_text(ann, "/start")
    previous = cipher.current()
    cipher.install(cipher.Cipher([cipher.Cipher.new_key()]))  # held under a key since dropped
    try:
        async with deps.db.session() as session:
            await hold(session, "telegram", [(str(update["update_id"]), update)], deps.clock.now())
    finally:
        cipher.install(previous)
    start = len(emu.sent)
    assert await tg.intake.replay() == 0
    assert emu.sent[start:] == []


async def test_an_update_held_in_the_clear_by_an_earlier_version_is_replayed(
    h: Harness, emu: TelegramEmulator, deps: Deps, tg: TelegramBot
):
    ann = emu.user(7008, "Ann")
    update = emu.send_text(ann, "/start")
    async with deps.db.session() as session:
        session.add(HeldUpdate(platform="telegram", key=str(update["update_id"]),
                               payload=update, received_at=deps.clock.now()))
    assert await tg.intake.replay() == 1
    assert "Hi Ann" in emu.sent[-1]["text"]
