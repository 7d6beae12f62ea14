"""The Telegram Bot API emulator must satisfy the REAL aiogram client, not just itself."""

from __future__ import annotations

import asyncio
import struct
import sys
import time
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    CallbackQuery,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)

# tests/ has no conftest putting the repo root on sys.path; make `tests.emulators` importable.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.emulators.telegram_api import TelegramEmulator  # noqa: E402

GROUP = {"id": -1001234567890, "type": "supergroup", "title": "Runners"}


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    """A valid RGB PNG without needing Pillow."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def make_bot(emu: TelegramEmulator, token: str | None = None) -> Bot:
    api = TelegramAPIServer.from_base(emu.base_url)
    return Bot(token or emu.token, session=AiohttpSession(api=api))


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    e = TelegramEmulator()
    await e.start()
    yield e
    await e.stop()


@pytest_asyncio.fixture
async def bot(emu: TelegramEmulator) -> AsyncIterator[Bot]:
    b = make_bot(emu)
    yield b
    await b.session.close()


@pytest.mark.asyncio
async def test_get_me_and_send_edit_delete(emu: TelegramEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "habit_test_bot")
    alice = emu.user(1001, "Alice", "alice")
    kb = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Done",
                                                                      callback_data="done:1")]])
    msg = await bot.send_message(alice["id"], "<b>Hi</b> Alice", parse_mode="HTML",
                                 reply_markup=kb)
    assert isinstance(msg, Message) and msg.text == "Hi Alice"
    assert msg.from_user and msg.from_user.is_bot and msg.chat.type == "private"
    assert msg.entities and msg.entities[0].type == "bold" and msg.entities[0].length == 2
    # Models parsed from responses carry a private bot reference, so compare dumps, not objects.
    assert msg.reply_markup and msg.reply_markup.model_dump() == kb.model_dump()
    rec = emu.sent[-1]
    assert rec["method"] == "sendMessage" and rec["chat_id"] == 1001
    assert rec["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "done:1"

    reply = await bot.send_message(1001, "re", reply_parameters=ReplyParameters(
        message_id=msg.message_id))
    assert reply.reply_to_message and reply.reply_to_message.message_id == msg.message_id

    edited = await bot.edit_message_text("Edited", chat_id=1001, message_id=msg.message_id)
    assert isinstance(edited, Message) and edited.text == "Edited"
    assert edited.reply_markup is None  # Telegram drops the keyboard when omitted on edit
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Edited", chat_id=1001, message_id=msg.message_id)
    await bot.edit_message_reply_markup(chat_id=1001, message_id=msg.message_id, reply_markup=kb)
    assert await bot.delete_message(1001, msg.message_id) is True
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(1001, msg.message_id)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "nobody")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(1001, "<b>unclosed", parse_mode="HTML")
    assert [r["method"] for r in emu.sent] == [
        "sendMessage", "sendMessage", "editMessageText", "editMessageReplyMarkup"]
    assert await bot.send_chat_action(1001, "typing") is True


@pytest.mark.asyncio
async def test_send_photo_multipart(emu: TelegramEmulator, bot: Bot) -> None:
    emu.user(1001, "Alice")
    data = png_bytes(200, 100)
    msg = await bot.send_photo(1001, BufferedInputFile(data, "x.png"), caption="streak!")
    assert msg.photo and (msg.photo[-1].width, msg.photo[-1].height) == (200, 100)
    assert msg.photo[0].width == 90 and msg.caption == "streak!"
    assert emu.files[emu.sent[-1]["photo"]] == data
    again = await bot.send_photo(1001, msg.photo[-1].file_id)  # re-send by file_id
    assert again.photo and again.photo[-1].file_unique_id == msg.photo[-1].file_unique_id


@pytest.mark.asyncio
async def test_commands_chat_and_members(emu: TelegramEmulator, bot: Bot) -> None:
    cmds = [BotCommand(command="start", description="Start"),
            BotCommand(command="habits", description="My habits")]
    assert await bot.set_my_commands(cmds, scope=BotCommandScopeAllPrivateChats())
    assert [c["command"] for c in emu.commands["all_private_chats"]] == ["start", "habits"]
    got = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats())
    assert [c.model_dump() for c in got] == [c.model_dump() for c in cmds]
    assert await bot.get_my_commands() == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Cmd", description="x")])
    await bot.delete_my_commands(scope=BotCommandScopeAllPrivateChats())
    assert "all_private_chats" not in emu.commands

    alice, bob = emu.user(1001, "Alice"), emu.user(1002, "Bob")
    emu.add_chat(GROUP)
    emu.set_member_status(GROUP["id"], alice["id"], "creator")
    emu.set_member_status(GROUP["id"], bob["id"], "administrator")
    owner = await bot.get_chat_member(GROUP["id"], alice["id"])
    admin = await bot.get_chat_member(GROUP["id"], bob["id"])
    member = await bot.get_chat_member(GROUP["id"], 1003)
    assert isinstance(owner, ChatMemberOwner) and owner.user.first_name == "Alice"
    assert isinstance(admin, ChatMemberAdministrator) and admin.can_delete_messages
    assert isinstance(member, ChatMemberMember)
    chat = await bot.get_chat(GROUP["id"])
    assert chat.title == "Runners" and chat.type == "supergroup"
    assert await bot.leave_chat(GROUP["id"]) is True
    with pytest.raises(TelegramForbiddenError, match="not a member"):
        await bot.send_message(GROUP["id"], "still here?")


@pytest.mark.asyncio
async def test_get_updates_long_polling(emu: TelegramEmulator, bot: Bot) -> None:
    alice = emu.user(1001, "Alice", "alice")
    emu.send_text(alice, "/start@habit_test_bot")
    updates = await bot.get_updates(timeout=1)
    assert len(updates) == 1 and updates[0].message and updates[0].message.text
    ent = updates[0].message.entities
    assert ent and ent[0].type == "bot_command" and ent[0].length == len("/start@habit_test_bot")
    offset = updates[0].update_id + 1
    t0 = time.monotonic()
    assert await bot.get_updates(offset=offset, timeout=1) == []  # confirms and really waits
    assert 0.9 <= time.monotonic() - t0 < 2.0

    async def later() -> None:
        await asyncio.sleep(0.2)
        emu.send_text(alice, "hello", chat=GROUP)

    task = asyncio.create_task(later())
    t0 = time.monotonic()
    got = await bot.get_updates(offset=offset, timeout=5)  # wakes as soon as the update lands
    await task
    assert time.monotonic() - t0 < 1.0 and got[0].message and got[0].message.chat.id == GROUP["id"]


@pytest.mark.asyncio
async def test_dispatcher_polling_replies_and_callbacks(emu: TelegramEmulator, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        kb = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="Check in", callback_data="checkin")]])
        await message.answer(f"Welcome, {message.from_user.first_name}!", reply_markup=kb)

    @dp.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await query.answer("Checked in ✅")
        if isinstance(query.message, Message):
            await query.message.edit_text("Done for today")

    alice = emu.user(1001, "Alice")
    emu.send_text(alice, "/start")
    polling = asyncio.create_task(dp.start_polling(bot, polling_timeout=1, handle_signals=False,
                                                   close_bot_session=False))
    try:
        welcome = await emu.wait_for(lambda m: m["text"] == "Welcome, Alice!", timeout=5)
        emu.press_button(alice, welcome, "checkin")
        await emu.wait_for(lambda m: m["method"] == "editMessageText", timeout=5)
        assert emu.callback_answers[0]["text"] == "Checked in ✅"
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, 5)
    with pytest.raises(TimeoutError, match="Welcome, Alice"):
        await emu.wait_for(lambda m: m["text"] == "never", timeout=0.1)


@pytest.mark.asyncio
async def test_blocked_unauthorized_and_faults(emu: TelegramEmulator, bot: Bot) -> None:
    emu.user(1001, "Alice")
    emu.block(1001)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(1001, "hi")
    emu.unblock(1001)
    emu.fail_next("sendMessage", 500, "Internal Server Error")
    with pytest.raises(TelegramServerError):
        await bot.send_message(1001, "hi")
    emu.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(1001, "hi")
    assert exc.value.retry_after == 7 and emu.stats["429"] == 1
    assert (await bot.send_message(1001, "hi")).text == "hi"

    async with aiohttp.ClientSession() as http:
        async with http.post(f"{emu.base_url}/bot{emu.token}/sendTelepathy", json={}) as r:
            assert r.status == 404
            assert await r.json() == {"ok": False, "error_code": 404,
                                      "description": "Not Found: method not found"}
        async with http.get(f"{emu.base_url}/bot1:WRONG/getMe") as r:
            assert (r.status, (await r.json())["description"]) == (401, "Unauthorized")
        # Raw Bot API style: JSON body, and multipart with a file part literally named "photo".
        async with http.post(f"{emu.base_url}/bot{emu.token}/sendMessage",
                             json={"chat_id": 1001, "text": "json"}) as r:
            assert (await r.json())["result"]["text"] == "json"
        form = aiohttp.FormData()
        form.add_field("chat_id", "1001")
        form.add_field("photo", png_bytes(), filename="p.png")
        async with http.post(f"{emu.base_url}/bot{emu.token}/sendPhoto", data=form) as r:
            assert (await r.json())["result"]["photo"][-1]["width"] == 3


@pytest.mark.asyncio
async def test_rate_limits() -> None:
    emu = TelegramEmulator(rate_limits=True, global_per_sec=5, group_per_min=3)
    await emu.start()
    bot = make_bot(emu)
    try:
        users = [emu.user(2000 + i, f"U{i}") for i in range(6)]
        await bot.send_message(users[0]["id"], "one")
        with pytest.raises(TelegramRetryAfter) as exc:  # 1 msg/s per private chat
            await bot.send_message(users[0]["id"], "two")
        assert exc.value.retry_after >= 1
        for u in users[1:5]:
            await bot.send_message(u["id"], "fan-out")
        with pytest.raises(TelegramRetryAfter):  # 6th message within one second overall
            await bot.send_message(users[5]["id"], "fan-out")
        assert emu.stats["sent"] == 5 and emu.stats["429"] == 2
        assert sorted(emu.received) == [u["id"] for u in users[:5]]

        emu.reset_stats()
        emu.add_chat(GROUP)
        for i in range(3):
            await bot.send_message(GROUP["id"], f"g{i}")
        with pytest.raises(TelegramRetryAfter) as exc:  # 20/min per group, here 3/min
            await bot.send_message(GROUP["id"], "g3")
        assert 1 <= exc.value.retry_after <= 60
        assert [r["text"] for r in emu.received[GROUP["id"]]] == ["g0", "g1", "g2"]
    finally:
        await bot.session.close()
        await emu.stop()
