"""Direct messages through the real adapters: Telegram updates through aiogram against the Bot
API emulator, Discord interactions through discord.py's tree (DiscordHarness), relayed by the
real outbox dispatcher and each platform's notifier. Ann on Telegram and Bob on Discord talk
to each other; on Telegram a reply to a relayed message, or the Reply button's ForceReply,
continues the conversation; on Discord the Reply button's form does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, text

from bots.commands import Deps
from bots.discord.app import HabitbotDiscord
from bots.telegram.app import TelegramBot
from core.clock import FakeClock
from core.storage.db import Database
from core.storage.models import Base, Outbox
from scheduler.dispatcher import Dispatcher
from scheduler.limits import UNLIMITED
from tests.adapters.test_telegram_adapter import BOT, Harness, buttons
from tests.emulators.discord_harness import DiscordHarness
from tests.emulators.telegram_api import TelegramEmulator

Payload = dict[str, Any]


@pytest.fixture
def shared(db: Database, clock: FakeClock) -> Deps:
    return Deps(db, clock)


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(bot_username=BOT) as e:
        yield e


@pytest.fixture
async def tg(emu: TelegramEmulator, shared: Deps) -> AsyncIterator[TelegramBot]:
    bot = TelegramBot(shared, emu.token, emu.base_url)
    yield bot
    await bot.close()


@pytest.fixture
def h(emu: TelegramEmulator, tg: TelegramBot) -> Harness:
    return Harness(emu, tg)


@pytest.fixture
async def dc(shared: Deps) -> AsyncIterator[DiscordHarness]:
    harness = DiscordHarness(HabitbotDiscord(shared))
    await harness.start()
    yield harness
    await harness.close()


async def relay(deps: Deps, *notifiers: Any) -> None:
    for notifier in notifiers:
        await Dispatcher(deps.db, notifier, deps.clock, UNLIMITED).drain()


def dc_buttons(payload: Payload) -> list[Payload]:
    return [c for row in payload.get("components") or [] for c in row["components"]]


async def test_telegram_reply_to_a_relayed_message_and_force_reply(
    h: Harness, emu: TelegramEmulator, tg: TelegramBot, shared: Deps
) -> None:
    ann, bob = emu.user(1001, "Ann", "ann"), emu.user(1002, "Bob", "bob")
    await h.say(ann, "/start")
    await h.say(bob, "/start")
    [sent] = await h.say(ann, "/dm @bob hi <b>Bob</b> & co")
    assert "Sent to @bob" in sent["text"]
    start = len(emu.sent)
    await relay(shared, tg.notifier)
    [relayed] = emu.sent[start:]
    assert relayed["chat_id"] == 1002 and relayed["parse_mode"] == "HTML"
    assert "hi <b>Bob</b> & co" in relayed["text"]  # escaped: the tags arrive as text
    labels = [b["text"] for b in buttons(relayed)]
    assert labels[:2] == ["↩️ Reply", "💬 Conversation"] and "🗑 Delete for me" in labels

    # Bob replies to the relayed message: it lands in the conversation, exactly as typed.
    update = emu.send_text(bob, 'Sure — "7pm" x=1\nsecond line', reply_to=relayed["message_id"])
    [answer] = await h.feed(update)
    assert "Sent to @ann" in answer["text"]
    start = len(emu.sent)
    await relay(shared, tg.notifier)
    [back] = emu.sent[start:]
    assert back["chat_id"] == 1001 and 'Sure — "7pm" x=1\nsecond line' in back["text"]

    # Ann presses Reply: a ForceReply prompt; her reply to it goes to the conversation.
    reply_button = buttons(back)[0]
    [prompt] = await h.press(ann, back, reply_button["callback_data"])
    assert prompt["reply_markup"]["force_reply"] is True
    [done] = await h.feed(emu.send_text(ann, "via the prompt", reply_to=prompt["message_id"]))
    assert "Sent to @bob" in done["text"]
    start = len(emu.sent)
    await relay(shared, tg.notifier)
    assert "via the prompt" in emu.sent[start]["text"]

    # A sticker as a reply is refused with a clear line; plain chat text is not a message.
    sticker = emu._new_message(
        emu.chats[1002],
        bob,
        sticker={
            "file_id": "x",
            "file_unique_id": "x",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
    )
    sticker["reply_to_message"] = relayed["message"]
    [refused] = await h.feed(emu.push_update({"message": sticker}))
    assert "Only text" in refused["text"]
    [hint] = await h.say(bob, "just chatting")
    assert "Commands start with /" in hint["text"] or "/help" in hint["text"]

    [inbox] = await h.say(bob, "/inbox")
    assert "@ann" in inbox["text"]
    [chat] = await h.say(bob, "/chat 1")
    assert "via the prompt" in chat["text"] and "second line" in chat["text"]
    exported = await h.say(bob, "/export")
    assert "sendDocument" in [r["method"] for r in exported]
    # Replies are recorded in the outbox (durable intake): those holding messages encrypted.
    await tg.services.receipts.close()  # type: ignore[union-attr]
    async with shared.db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in await conn.execute(text(f"SELECT * FROM {table.name}")):
                assert "via the prompt" not in repr(tuple(row)), table.name
    async with shared.db.session() as session:
        answers = list(await session.scalars(select(Outbox.data).where(Outbox.kind == "answer")))
    assert sum("sealed" in a for a in answers) == 2  # /chat 1 and /export


async def test_telegram_and_discord_talk_to_each_other(
    h: Harness, emu: TelegramEmulator, tg: TelegramBot, dc: DiscordHarness, shared: Deps
) -> None:
    ann = emu.user(1001, "Ann", "ann")
    bob = dc.user(43, "bob")
    await h.say(ann, "/start")
    await dc.slash(bob, "start")
    [sent] = await h.say(ann, "/dm @bob **not bold** from Telegram")
    assert "Sent to @bob" in sent["text"]
    await relay(shared, dc.client.notifier)  # type: ignore[attr-defined]
    post = dc.calls(method="POST", path=r"^/channels/\d+/messages$")[-1]["payload"]
    assert r"\*\*not bold\*\* from Telegram" in post["content"]  # escaped for Discord
    reply_button = dc_buttons(post)[0]
    assert reply_button["label"] == "↩️ Reply" and reply_button["custom_id"].startswith("hq:")

    form = await dc.click(bob, reply_button["custom_id"])
    assert form.type == 9, form.responses  # a modal
    modal = form.response["payload"]["data"]
    submitted = await dc.submit_modal(bob, modal["custom_id"], {"answer": "Hi from Discord"})
    assert not submitted.errors, submitted.errors
    assert "Sent to @ann" in submitted.content
    start = len(emu.sent)
    await relay(shared, tg.notifier)
    [got] = emu.sent[start:]
    assert got["chat_id"] == 1001 and "Hi from Discord" in got["text"] and "@bob" in got["text"]

    # The slash way, and Ann's Telegram reply reaching Bob's DMs.
    typed = await dc.slash(bob, "chat", {"conversation": "1", "text": "and typed"})
    assert "Sent to @ann" in typed.content
    await h.feed(emu.send_text(ann, "both arrived", reply_to=got["message_id"]))
    await relay(shared, tg.notifier, dc.client.notifier)  # type: ignore[attr-defined]
    post = dc.calls(method="POST", path=r"^/channels/\d+/messages$")[-1]["payload"]
    assert "both arrived" in post["content"]
    inbox = await dc.slash(bob, "inbox")
    assert "@ann" in inbox.content
