"""The Telegram adapter driven the way Telegram drives it: raw update dicts fed to the real
aiogram Dispatcher, every outgoing Bot API call made over HTTP to the emulator on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bots.actions import Pressed, pressed
from bots.commands import REGISTRY, Deps, Invocation, execute
from bots.notify import DeliveryError
from bots.parsing import split_command
from bots.reply import Action, Button, Reply, bold, code
from bots.telegram.admins import AdminCache
from bots.telegram.app import TelegramBot
from bots.telegram.callbacks import keyboard
from bots.telegram.delivery import send_reply
from bots.telegram.handlers import EXPIRED, Services, command_for_us
from bots.telegram.menu import publish
from bots.telegram.render import TEXT_LIMIT, chunks
from bots.telegram.webhook import webhook_app
from core.storage.models import Account, ActionToken, CheckIn, Group, Membership, User
from core.users.accounts import private_addresses
from habitbot.redact import RedactSecrets
from tests.emulators.telegram_api import TelegramEmulator, parse_html
from tests.sweep import SETUP, examples, problems

JsonDict = dict[str, Any]
BOT = "habit_test_bot"
GROUP = {"id": -1001000000001, "type": "supergroup", "title": "Runners"}


class Harness:
    """Users typing and pressing buttons; returns what the bot sent in answer."""

    def __init__(self, emu: TelegramEmulator, tg: TelegramBot) -> None:
        self.emu, self.tg = emu, tg
        self.invocations: list[Invocation] = []
        self.last_message_id = 0

        async def watched(deps: Deps, inv: Invocation, **options: Any) -> Reply:
            self.invocations.append(inv)
            return await execute(deps, inv, **options)

        tg.services.execute = watched

    async def feed(self, update: JsonDict) -> list[JsonDict]:
        start = len(self.emu.sent)
        await self.tg.dp.feed_raw_update(self.tg.bot, update)
        return self.emu.sent[start:]

    async def say(self, user: JsonDict, text: str, chat: JsonDict | None = None) -> list[JsonDict]:
        update = self.emu.send_text(user, text, chat=chat)
        self.last_message_id = update["message"]["message_id"]
        return await self.feed(update)

    async def press(self, user: JsonDict, message: JsonDict, data: str) -> list[JsonDict]:
        return await self.feed(self.emu.press_button(user, message, data))


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(bot_username=BOT) as e:
        yield e


@pytest.fixture
async def tg(emu: TelegramEmulator, deps: Deps) -> AsyncIterator[TelegramBot]:
    bot = TelegramBot(deps, emu.token, emu.base_url)
    yield bot
    await bot.close()


@pytest.fixture
def h(emu: TelegramEmulator, tg: TelegramBot) -> Harness:
    return Harness(emu, tg)


def buttons(rec: JsonDict) -> list[JsonDict]:
    return [b for row in (rec.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


def quoted(rec: JsonDict) -> int | None:
    return (rec["message"].get("reply_to_message") or {}).get("message_id")


async def test_private_onboarding_and_check_in_with_a_button(h: Harness, emu: TelegramEmulator):
    ann = emu.user(1001, "Ann")
    [hello] = await h.say(ann, "/start")
    assert hello["chat_id"] == 1001 and hello["parse_mode"] == "HTML"
    assert "Hi Ann" in hello["text"] and quoted(hello) is None
    assert any(e["type"] == "bold" for e in hello["message"]["entities"])

    [added] = await h.say(ann, "/habit add Read every=day")
    [done_button] = buttons(added)
    assert done_button["callback_data"].endswith(".done|#1")  # signed, bound to Ann

    replies = await h.press(ann, added, done_button["callback_data"])
    assert emu.callback_answers[-1].get("text") is None  # the spinner stops, no toast
    [result] = replies  # the result replaces the message the button sat on
    assert result["method"] == "editMessageText" and result["chat_id"] == 1001
    assert result["message_id"] == added["message_id"]
    assert "Read done for today" in result["text"] and "Streak: 1 day" in result["text"]
    assert buttons(result) == []  # the stale keyboard is gone

    [again] = await h.say(ann, f"/done@{BOT} Read")
    assert "already done today" in again["text"]
    inv = h.invocations[-1]
    assert (inv.platform, inv.user_id, inv.user_name) == ("telegram", "1001", "Ann")
    assert (inv.chat.kind, inv.chat.id, inv.is_admin) == ("private", "1001", False)
    assert inv.text == "/done Read"


async def test_deep_link_start_and_plain_text(h: Harness, emu: TelegramEmulator):
    ann = emu.user(1001, "Ann")
    [hello] = await h.say(ann, "/start go")
    assert "Hi Ann" in hello["text"]
    [hint] = await h.say(ann, "hello there")
    assert "/help" in hint["text"]
    [unknown] = await h.say(ann, "/dne Read")
    assert "Unknown command" in unknown["text"] and "/done" in unknown["text"]


async def test_group_admin_and_member(h: Harness, emu: TelegramEmulator, deps: Deps, tg):
    boss, ann = emu.user(2001, "Boss"), emu.user(2002, "Ann")
    emu.add_chat(GROUP)
    emu.set_member_status(GROUP["id"], boss["id"], "creator")

    [made] = await h.say(boss, "/challenge new Move Week days=7 habits=Walk;Stretch", GROUP)
    assert "created" in made["text"] and made["chat_id"] == GROUP["id"]
    assert quoted(made) == h.last_message_id  # replies in groups quote the command
    assert h.invocations[-1].is_admin is True
    assert h.invocations[-1].chat.title == "Runners"
    assert h.invocations[-1].chat.id == str(GROUP["id"])

    [refused] = await h.say(ann, "/challenge new Mine days=7 habits=Read", GROUP)
    assert "admins" in refused["text"] and h.invocations[-1].is_admin is False
    [joined] = await h.say(ann, "/join 1", GROUP)
    assert "You joined" in joined["text"]
    # A check-in in a group is acknowledged with a reaction, not a message to everyone.
    assert await h.say(ann, "/done Walk", GROUP) == []
    assert emu.reactions[-1]["message_id"] == h.last_message_id
    board = await h.say(ann, "/leaderboard", GROUP)
    shown = " ".join(r["text"] or r["caption"] or "" for r in board)
    assert "Leaderboard: Move Week" in shown and "Ann" in shown
    assert quoted(board[0]) == h.last_message_id

    # Admin status was asked once per person and then served from the cache.
    lookups = [c for c in emu.calls if c[0] == "getChatMember"]
    assert sorted(p["user_id"] for _, p in lookups) == [2001, 2002]
    async with deps.db.session() as session:
        group = await session.scalar(select(Group))
        count = await session.scalar(select(func.count()).select_from(Membership))
    assert group is not None and (group.external_id, group.title) == (str(GROUP["id"]), "Runners")
    assert count == 2


async def test_admin_cache_expires_and_failures_are_not_admin(emu: TelegramEmulator, tg):
    now = [0.0]
    cache = AdminCache(ttl=60, clock=lambda: now[0])
    emu.add_chat(GROUP)
    emu.set_member_status(GROUP["id"], 1, "administrator")
    assert await cache.is_admin(tg.bot, GROUP["id"], 1) is True
    emu.set_member_status(GROUP["id"], 1, "member")
    now[0] = 59
    assert await cache.is_admin(tg.bot, GROUP["id"], 1) is True and cache.lookups == 1
    now[0] = 61
    assert await cache.is_admin(tg.bot, GROUP["id"], 1) is False and cache.lookups == 2
    emu.fail_next("getChatMember", 500, "Internal Server Error")
    assert await cache.is_admin(tg.bot, GROUP["id"], 2) is False
    emu.set_member_status(GROUP["id"], 2, "creator")
    assert await cache.is_admin(tg.bot, GROUP["id"], 2) is True  # the failure was not cached


async def test_private_reply_from_a_group(h: Harness, emu: TelegramEmulator):
    ann = emu.user(3001, "Ann")
    emu.add_chat(GROUP)
    sent = await h.say(ann, "/wallet", GROUP)
    assert [r["chat_id"] for r in sent] == [3001, GROUP["id"]]
    assert "Ann's wallet" in sent[0]["text"] and "coins" in sent[0]["text"]
    assert "private chat" in sent[1]["text"] and quoted(sent[1]) is not None
    assert "coins" not in sent[1]["text"]

    never = {"id": 3002, "is_bot": False, "first_name": "Cid"}  # never opened the bot
    [note] = await h.say(never, "/wallet", GROUP)
    assert note["chat_id"] == GROUP["id"] and quoted(note) is not None
    assert "coins" not in note["text"]
    [link] = buttons(note)  # the deep link is a button, not a bare URL in the text
    assert link["url"] == f"https://t.me/{BOT}?start=go" and "t.me" not in note["text"]

    emu.block(3001)
    [note] = await h.say(ann, "/wallet", GROUP)
    assert buttons(note)[0]["url"] == f"https://t.me/{BOT}?start=go"


async def test_other_bots_commands_and_long_messages(h: Harness, emu: TelegramEmulator):
    ann = emu.user(4001, "Ann")
    emu.add_chat(GROUP)
    assert await h.say(ann, "/help@OtherBot", GROUP) == []
    assert await h.say(ann, "hello everyone", GROUP) == []
    [helped] = await h.say(ann, f"/help@{BOT}", GROUP)
    assert "Commands" in helped["text"]

    [long] = await h.say(ann, "/done " + "x" * (4096 - 6))
    assert "too long" in long["text"] and len(long["text"]) <= TEXT_LIMIT


async def test_long_reply_is_split_and_escaped(emu: TelegramEmulator, tg, deps: Deps):
    emu.user(4002, "Ann")
    reply = Reply.text(bold("Board <top> & co"))
    for i in range(400):
        reply.add(f"{i}. <b>not a tag</b> & ", code("x < y"), " 🔥")
    reply.add("z" * 5000)  # one overlong line is cut hard
    reply.button_row(Button("Again", Action("today")))
    sent = await send_reply(tg.bot, deps, 4002, reply)
    assert len(sent) >= 4 and all(len(m.text or "") <= TEXT_LIMIT for m in sent)
    assert "".join(r["text"] for r in emu.sent).replace("\n", "") == reply.plain().replace("\n", "")
    assert buttons(emu.sent[-1]) and not any(buttons(r) for r in emu.sent[:-1])
    for part in chunks(reply):
        text, _ = parse_html(part.html)
        assert len(text.encode("utf-16-le")) // 2 == part.length <= TEXT_LIMIT


async def test_image_goes_out_as_a_photo(h: Harness, emu: TelegramEmulator, tg, deps: Deps):
    ann = emu.user(4003, "Ann")
    await h.say(ann, "/habit add Read")
    await h.say(ann, "/done Read")
    [photo] = await h.say(ann, "/stats")
    assert photo["method"] == "sendPhoto" and "Your habits" in photo["caption"]
    assert emu.files[photo["photo"]].startswith(b"\x89PNG")

    big = Reply.text("y" * 2000)
    big.image = emu.files[photo["photo"]]
    big.button_row(Button("Today", Action("today")))
    sent = await send_reply(tg.bot, deps, 4003, big)
    assert [m.photo is not None for m in sent] == [True, False]
    assert emu.sent[-2]["caption"] is None and buttons(emu.sent[-1])


async def test_stale_tampered_and_long_buttons(h: Harness, emu: TelegramEmulator, deps: Deps):
    ann = emu.user(5001, "Ann")
    [added] = await h.say(ann, "/habit add Read")
    [real] = buttons(added)
    forged = [
        "nosuchcommand|1",
        "t:forged",
        "",
        "habit remove|Read",  # a crafted callback naming a destructive command
        "done|#1",  # the unsigned form of the real button
        real["callback_data"][:-1] + "2",  # the real button with its action changed
        "A" * 11 + real["callback_data"][11:],  # the real action with a made-up signature
    ]
    for data in forged:
        assert await h.press(ann, added, data) == [], data
        assert emu.callback_answers[-1]["text"] == EXPIRED
    [listed] = await h.say(ann, "/habits")
    assert "Read" in listed["text"]  # nothing was removed
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 0

    long = Reply.text("pick").button_row(Button("Read", Action("done", "Read " + "x" * 80)))
    markup = await keyboard(deps, long)
    assert markup is not None
    data = markup.inline_keyboard[0][0].callback_data or ""
    assert data.startswith("t:") and len(data.encode()) <= 64
    assert (await pressed(deps, data)) == Pressed("/done Read " + "x" * 80, None)
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ActionToken)) == 1
    short = await keyboard(deps, Reply.text("x").button_row(Button("Go", Action("done", "#1"))))
    assert short is not None
    data = short.inline_keyboard[0][0].callback_data
    assert (await pressed(deps, data)) == Pressed("/done #1", None)


async def test_ignored_updates(h: Harness, emu: TelegramEmulator, deps: Deps):
    ann = emu.user(6001, "Ann")
    robot = {"id": 6002, "is_bot": True, "first_name": "Robo", "username": "robo_bot"}
    channel = {"id": -1009999, "type": "channel", "title": "News"}
    message = {
        "message_id": 1,
        "date": 1,
        "chat": {"id": 6001, "type": "private", "first_name": "Ann"},
        "from": ann,
    }
    updates = [
        {"update_id": 901, "edited_message": {**message, "text": "/start", "edit_date": 2}},
        {
            "update_id": 902,
            "message": {
                **message,
                "sticker": {
                    "file_id": "s",
                    "file_unique_id": "s",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                },
            },
        },
        {
            "update_id": 903,
            "channel_post": {"message_id": 2, "date": 1, "chat": channel, "text": "/start"},
        },
        {"update_id": 904, "message": {**message, "from": robot, "text": "/start"}},
        {
            "update_id": 905,
            "message": {
                "message_id": 3,
                "date": 1,
                "chat": GROUP,
                "from": ann,
                "new_chat_members": [ann],
            },
        },
        {
            "update_id": 906,
            "message": {
                "message_id": 4,
                "date": 1,
                "chat": GROUP,
                "from": {"id": 1087968824, "is_bot": True, "first_name": "Group"},
                "sender_chat": GROUP,
                "text": "/start",
            },
        },
    ]
    for update in updates:
        assert await h.feed(update) == []
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Account)) == 0
    assert emu.sent == [] and h.invocations == []


async def test_group_upgrade_keeps_its_data(h: Harness, emu: TelegramEmulator, deps: Deps):
    boss = emu.user(7001, "Boss")
    old = {"id": -4000001, "type": "group", "title": "Readers"}
    new = {"id": -1004000001, "type": "supergroup", "title": "Readers"}
    emu.set_member_status(old["id"], boss["id"], "creator")
    await h.say(boss, "/challenge new Book Month days=30 habits=Read", old)
    await h.feed(
        {
            "update_id": 950,
            "message": {
                "message_id": 9,
                "date": 1,
                "chat": old,
                "from": boss,
                "migrate_to_chat_id": new["id"],
            },
        }
    )
    await h.feed(
        {
            "update_id": 951,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": new,
                "from": boss,
                "migrate_from_chat_id": old["id"],
            },
        }
    )
    [listed] = await h.say(boss, "/challenge list", new)
    assert "Book Month" in listed["text"]
    async with deps.db.session() as session:
        groups = list(await session.scalars(select(Group)))
    assert [(g.external_id, g.announce_chat) for g in groups] == [(str(new["id"]),) * 2]


def membership_update(
    update_id: int, chat: JsonDict, by: JsonDict, bot: JsonDict, status: str
) -> JsonDict:
    """The bot's own membership changed: "kicked" when removed from a group or blocked in a
    private chat, "member" when added back or unblocked."""
    return {
        "update_id": update_id,
        "my_chat_member": {
            "chat": chat,
            "from": by,
            "date": 1,
            "old_chat_member": {"status": "member", "user": bot},
            "new_chat_member": {
                "status": status,
                "user": bot,
                **({"until_date": 0} if status == "kicked" else {}),
            },
        },
    }


async def test_bot_removed_from_group_marks_it_unreachable(h: Harness, emu, deps: Deps):
    ann = emu.user(7101, "Ann")
    emu.add_chat(GROUP)
    await h.say(ann, "/start", GROUP)

    def change(status: str, update_id: int) -> JsonDict:
        return membership_update(update_id, GROUP, ann, emu.bot_user, status)

    async def unreachable() -> bool:
        async with deps.db.session() as session:
            return bool(await session.scalar(select(Group.unreachable)))

    await h.feed(change("kicked", 960))
    assert await unreachable() is True
    await h.feed(change("member", 961))
    assert await unreachable() is False


async def test_a_user_who_blocks_the_bot_is_unreachable_until_unblocking(
    h: Harness, emu, deps: Deps
):
    ann = emu.user(7201, "Ann")
    await h.say(ann, "/start")
    private = {"id": ann["id"], "type": "private", "first_name": "Ann"}

    def change(status: str, update_id: int) -> JsonDict:
        return membership_update(update_id, private, ann, emu.bot_user, status)

    async def reachable() -> list[str]:  # where a reminder would go
        async with deps.db.session() as session:
            user_id = await session.scalar(select(Account.user_id))
            return [a.private_chat for a in (await private_addresses(session, [user_id])).values()]

    assert await reachable() == ["7201"]
    await h.feed(change("kicked", 970))
    assert await reachable() == []
    await h.feed(change("member", 971))
    assert await reachable() == ["7201"]


async def test_errors_are_logged_with_a_reference_and_apologised_for(
    h: Harness, emu: TelegramEmulator, caplog: pytest.LogCaptureFixture
):
    ann = emu.user(8001, "Ann")
    emu.fail_next("sendMessage", 400, "Bad Request: can't parse entities: boom")
    with caplog.at_level(logging.ERROR, logger="habitbot.telegram"):
        [apology] = await h.say(ann, "/start")
    assert apology["text"].startswith("Something went wrong (ref ")
    ref = apology["text"].split("ref ")[1][:6]
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)
    [fine] = await h.say(ann, "/start")  # and the bot keeps going
    assert "Hi Ann" in fine["text"]


async def test_notifier_classifies_failures(emu: TelegramEmulator, tg, deps: Deps):
    emu.user(9001, "Ann")
    notifier = tg.notifier
    assert notifier.platform == "telegram"
    reminder = Reply.text("⏰ Time for ", bold("Read")).button_row(
        Button("✅ Done", Action("done", "#1"))
    )
    await notifier.send("9001", reminder)
    assert emu.sent[-1]["text"] == "⏰ Time for Read" and buttons(emu.sent[-1])

    emu.block(9001)
    with pytest.raises(DeliveryError) as blocked:
        await notifier.send("9001", reminder)
    assert blocked.value.failure == "permanent" and "blocked" in blocked.value.reason
    with pytest.raises(DeliveryError) as missing:
        await notifier.send("424242", reminder)
    assert missing.value.failure == "permanent" and "chat not found" in missing.value.reason
    emu.unblock(9001)
    emu.fail_next("sendMessage", 429, "Too Many Requests: retry after 5", retry_after=5)
    with pytest.raises(DeliveryError) as limited:
        await notifier.send("9001", reminder)
    assert (limited.value.failure, limited.value.retry_after) == ("rate_limited", 5)
    emu.fail_next("sendMessage", 502, "Bad Gateway")
    with pytest.raises(DeliveryError) as flaky:
        await notifier.send("9001", reminder)
    assert flaky.value.failure == "transient"
    emu.add_chat(GROUP)
    emu.fail_next("sendMessage", 403, "Forbidden: bot was kicked from the supergroup chat")
    with pytest.raises(DeliveryError) as kicked:
        await notifier.send(str(GROUP["id"]), reminder)
    assert kicked.value.failure == "permanent" and emu.token not in kicked.value.reason


async def test_network_failure_is_transient(deps: Deps):
    tg = TelegramBot(deps, "123456:TEST", "http://127.0.0.1:9")  # nothing listens there
    try:
        with pytest.raises(DeliveryError) as down:
            await tg.notifier.send("1", Reply.text("hi"))
        assert down.value.failure == "transient" and "123456:TEST" not in down.value.reason
    finally:
        await tg.close()


async def test_command_menu_scopes(emu: TelegramEmulator, tg):
    assert await publish(tg.bot)
    private = [c["command"] for c in emu.commands["all_private_chats"]]
    group = [c["command"] for c in emu.commands["all_group_chats"]]
    admins = {c["command"]: c["description"] for c in emu.commands["all_chat_administrators"]}
    assert {"start", "help", "habit", "done", "wallet", "challenge"} <= set(private)
    assert "group" not in private  # /group show and /group settings work in groups only
    assert "wallet" not in group and "habit" not in group and {"help", "join"} <= set(group)
    assert set(group) <= set(admins) and "new" in admins["challenge"]
    members = {c["command"]: c["description"] for c in emu.commands["all_group_chats"]}
    assert "new" not in members["challenge"]
    for scope in emu.commands.values():
        assert all(1 <= len(c["description"]) <= 256 for c in scope)


async def test_webhook_checks_the_secret(emu: TelegramEmulator, tg, h: Harness):
    ann = emu.user(9101, "Ann")
    update = emu.send_text(ann, "/start")
    app = webhook_app(tg.intake, "/tg/hook", "s3cret")
    async with TestClient(TestServer(app)) as client:
        denied = await client.post("/tg/hook", json=update)
        assert denied.status == 401
        ok = await client.post(
            "/tg/hook", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        )
        assert ok.status == 200
        answer = await emu.wait_for(lambda r: r["chat_id"] == 9101, timeout=5)
    assert "Hi Ann" in answer["text"]


def test_command_for_us() -> None:
    assert command_for_us("/help", BOT) == "/help"
    assert command_for_us(f"/habit@{BOT.upper()} add Read", BOT) == "/habit add Read"
    assert command_for_us("/help@OtherBot", BOT) is None
    assert command_for_us("/start go", BOT) == "/start"
    assert command_for_us("hello", BOT) is None
    assert command_for_us("/done\nRead", BOT) == "/done\nRead"


def test_token_is_redacted_from_logs() -> None:
    token = "123456:SECRET-token"
    record = logging.LogRecord(
        "aiohttp",
        logging.ERROR,
        __file__,
        1,
        "POST %s failed",
        (f"https://api/bot{token}/getMe",),
        None,
    )
    try:
        raise RuntimeError(f"boom at /bot{token}/getMe")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactSecrets([token]).filter(record)
    assert token not in record.getMessage() and token not in (record.exc_text or "")
    assert "<redacted>" in record.getMessage()


def test_services_default_to_the_real_executor(deps: Deps) -> None:
    assert Services(deps).execute is execute


# Every registry command as a user types it, once in a private chat and once in a group. The
# lists must name every command, so a new command joins this walk-through or the test fails.
PRIVATE_SESSION = [
    "/start",
    "/help",
    "/help done",
    "/timezone Europe/Berlin",
    "/settings nudges=off quiet=22:00-07:00",
    "/habit add Read every=day target=20 unit=pages",
    "/habit add Smoking kind=quit",
    "/habit list",
    "/habit edit Read remind=21:00",
    "/done Read 25",
    "/undo Read",
    "/done",
    "/done Read",
    "/today",
    "/stats Read",
    "/claim",
    "/wallet",
    "/badges",
    "/freeze buy",
    "/challenge new Solo Week days=7 habits=Walk private",
    "/challenge list",
    "/challenges",
    "/challenge info 1",
    "/challenge invite 1",
    "/progress 1",
    "/leaderboard 1",
    "/leave 1",
    "/challenge end 1",
    "/plan stop doom-scrolling days=7",
    "/cancel",
    "/plan read more",
    "/plan answer to relax",
    "/plan answer my phone",
    "/plan answer evenings",
    "/plan again",
    "/plan accept",
    "/plan show",
    "/plan done Read 1",
    "/plan restart Read",
    "/plan drop Read",
    "/habit remove Smoking",
    "/join 1",
    "/group show",
    "/group settings digest=20:00",
    "/handle",
    "/handle ann_reads",
    "/link",
    "/link 123456",
    "/unlink",
    "/export",
    "/app",
    "/deleteme",
    "/profile",
    "/bio Reading every night",
    "/habit edit Read visibility=public",
    "/settings profile=private",
    "/follow @ann",  # refused: yourself
    "/unfollow @ann",
    "/followers",
    "/following",
    "/requests",
    "/approve @ann",
    "/decline @ann",
    "/people",
    "/block @ann",
    "/unblock @ann",
    "/blocked",
    "/report @ann spam",
    "/verify @ann",  # unknown: Ann is no operator
    "/unverify @ann",
    "/reports",
    "/reports close 1",
    "/post Day 1 of reading",
    "/feed",
    "/react 1 fire",
    "/comment 1 Keep going",
    "/post 1",
    "/uncomment c1",
    "/unpost 1",
    "/dm @ann hi",  # refused: yourself
    "/dm delete #1",
    "/inbox",
    "/chat 1",
]
GROUP_SESSION = [  # (who, text): the admin sets the group up, a member takes part
    ("boss", "/start"),
    ("boss", "/group settings announce=here digest=20:00 timezone=Europe/Berlin"),
    ("boss", "/group show"),
    ("boss", "/challenge new Move Week days=7 habits=Walk;Stretch"),
    ("ann", "/help"),
    ("ann", "/timezone Europe/Berlin"),
    ("ann", "/settings nudges=off"),
    ("ann", "/challenges"),
    ("ann", "/challenge list"),
    ("ann", "/challenge info 1"),
    ("ann", "/join 1"),
    ("ann", "/challenge invite 1"),
    ("ann", "/habit add Read"),
    ("ann", "/plan read more"),
    ("ann", "/plan answer to relax"),
    ("ann", "/plan answer my phone"),
    ("ann", "/plan answer evenings"),
    ("ann", "/plan again"),
    ("ann", "/plan accept"),
    ("ann", "/plan show"),
    ("ann", "/plan done Read 1"),
    ("ann", "/plan restart Read"),
    ("ann", "/plan drop Read"),
    ("ann", "/cancel"),
    ("ann", "/habit edit Read every=weekdays"),
    ("ann", "/habit list"),
    ("ann", "/done Walk"),
    ("ann", "/done"),
    ("ann", "/undo Walk"),
    ("ann", "/done Walk"),
    ("ann", "/today"),
    ("ann", "/stats"),
    ("ann", "/progress"),
    ("ann", "/leaderboard"),
    ("ann", "/claim"),
    ("ann", "/wallet"),
    ("ann", "/badges"),
    ("ann", "/freeze buy"),
    ("ann", "/habit remove Read"),
    ("ann", "/leave 1"),
    ("ann", "/handle"),
    ("ann", "/link"),
    ("ann", "/link 123456"),
    ("ann", "/unlink"),
    ("ann", "/export"),
    ("ann", "/app"),
    ("ann", "/deleteme"),
    ("ann", "/challenge end 1"),  # refused: not an admin
    ("boss", "/challenge end 1"),
    ("ann", "/profile @boss"),
    ("ann", "/bio Runner"),
    ("ann", "/follow @boss"),
    ("ann", "/following"),
    ("boss", "/followers"),
    ("boss", "/settings profile=private"),
    ("ann", "/unfollow @boss"),
    ("ann", "/follow @boss"),
    ("boss", "/requests"),
    ("boss", "/approve @ann"),
    ("boss", "/decline @ann"),  # refused: follows already
    ("ann", "/people"),
    ("ann", "/block @boss"),
    ("ann", "/blocked"),
    ("ann", "/unblock @boss"),
    ("ann", "/report @boss spam"),
    ("ann", "/verify @boss"),
    ("ann", "/unverify @boss"),
    ("ann", "/reports"),
    ("ann", "/reports close 1"),
    ("ann", "/post Run at 7"),
    ("boss", "/feed"),
    ("boss", "/react 1 fire"),
    ("ann", "/comment 1 See you"),
    ("ann", "/post 1"),
    ("ann", "/uncomment c1"),
    ("boss", "/unpost 1"),
    ("ann", "/dm @boss see you at the run"),
    ("boss", "/inbox"),
    ("boss", "/chat 1 see you"),
    ("ann", "/dm delete #1"),
]


def _commands_of(texts: list[str]) -> set[str]:
    names = set()
    for text in texts:
        command, _ = REGISTRY.resolve(split_command(text)[0])
        assert command is not None, text
        names.add(command.name)
    return names


def test_the_walk_throughs_use_every_command() -> None:
    every = set(REGISTRY.commands)
    assert _commands_of(PRIVATE_SESSION) == every
    assert _commands_of([text for _, text in GROUP_SESSION]) == every


def _answer(sent: list[JsonDict]) -> str:
    return " ".join(r.get("text") or r.get("caption") or "" for r in sent)


async def test_every_command_answers_in_a_private_chat(h: Harness, emu: TelegramEmulator):
    ann = emu.user(9001, "Ann")
    for text in PRIVATE_SESSION:
        sent = await h.say(ann, text)
        answer = _answer(sent)
        assert sent and answer.strip(), text
        assert all(r["chat_id"] == 9001 for r in sent), text
        assert "Something went wrong" not in answer, (text, answer)
    # Spot checks that the walk-through did what a user would see.
    [wallet] = await h.say(ann, "/wallet")
    assert "coins" in wallet["text"]
    [asked] = await h.say(ann, "/habit remove Smoking")  # the walk-through's asked first
    assert "Remove Smoking" in asked["text"]
    [removed] = await h.press(ann, asked, buttons(asked)[0]["callback_data"])
    assert "Removed Smoking" in removed["text"]
    [listed] = await h.say(ann, "/habit list")
    assert "Read" in listed["text"] and "Smoking" not in listed["text"]


async def test_every_command_answers_in_a_group(h: Harness, emu: TelegramEmulator, deps: Deps):
    people = {"boss": emu.user(9101, "Boss"), "ann": emu.user(9102, "Ann")}
    emu.add_chat(GROUP)
    emu.set_member_status(GROUP["id"], 9101, "creator")
    answers: dict[str, str] = {}
    for who, text in GROUP_SESSION:
        sent = await h.say(people[who], text, GROUP)
        if not sent:  # a check-in is acknowledged with a reaction on it
            assert emu.reactions[-1]["message_id"] == h.last_message_id, (who, text)
            continue
        answer = _answer(sent)
        assert answer.strip(), (who, text)
        assert "Something went wrong" not in answer, (who, text, answer)
        # Each answer lands in the group, quoting the command, or in the private chat with
        # a note left in the group (the wallet and other private replies).
        assert sent[-1]["chat_id"] == GROUP["id"] and quoted(sent[-1]) == h.last_message_id
        answers[f"{who} {text}"] = answer
    assert "You joined" in answers["ann /join 1"]
    assert "private chat" in answers["ann /wallet"]
    assert "admins" in answers["ann /challenge end 1"]
    assert "Move Week" in answers["boss /challenge end 1"]


async def test_nul_and_lone_surrogates_in_platform_names_are_dropped(
    h: Harness, emu: TelegramEmulator, deps: Deps
) -> None:
    # As Telegram's JSON can carry them: escapes for NUL and for half a surrogate pair.
    ann = emu.user(1001, json.loads(r'"An\u0000n\ud800"'))
    group = {**GROUP, "title": json.loads(r'"Run\u0000ners \udc00"')}
    emu.add_chat(group)
    replies = [
        *await h.say(ann, "/start"),
        *await h.say(ann, "/habit add Read"),
        *await h.say(ann, "/done Read", group),
        *await h.say(ann, "/today", group),
    ]
    texts = [r["text"] for r in replies]
    # /done in the group is acknowledged with a reaction; the others with a message.
    assert len(texts) >= 3 and len(emu.reactions) == 1, texts
    assert not any("Something went wrong" in t for t in texts), texts
    assert "Hi Ann" in texts[0]
    async with deps.db.session() as session:
        assert await session.scalar(select(User.name)) == "Ann"
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 1
        assert await session.scalar(select(Group.title)) == "Runners"


async def test_every_registry_example_works_as_typed(h: Harness, emu: TelegramEmulator) -> None:
    ann, boss = emu.user(9201, "Ann"), emu.user(9202, "Boss")
    emu.add_chat(GROUP)
    emu.set_member_status(GROUP["id"], 9202, "creator")
    for who, chat in ((ann, None), (boss, GROUP)):
        for text in (*SETUP, *examples()):
            reactions = len(emu.reactions)
            sent = await h.say(who, text, chat)
            answer = _answer(sent)
            if not sent and len(emu.reactions) > reactions:
                continue  # a check-in in a group is answered with a reaction
            assert answer.strip() and not problems(answer), (text, answer)


async def test_a_plan_conversation_in_a_private_chat(h: Harness, emu: TelegramEmulator):
    ann = emu.user(1001, "Ann")
    [asked] = await h.say(ann, "/plan I want to read more")
    assert "Planning Read" in asked["text"] and "1/3" in asked["text"]
    assert "(or just type it)" in asked["text"]
    assert [b["text"] for b in buttons(asked)] == ["✖️ Cancel"]
    [second] = await h.say(ann, "to relax before bed")  # plain text answers the question
    assert "2/3" in second["text"]
    assert h.invocations[-1].plain and h.invocations[-1].text == "to relax before bed"
    await h.say(ann, "my phone")
    [proposal] = await h.say(ann, "evenings <b>20</b> minutes")  # answers are escaped
    assert "Made by the built-in planner: no AI service is configured." in proposal["text"]
    assert "Block the time: evenings <b>20</b> minutes" in proposal["text"]  # as typed
    accept, another, cancel_ = buttons(proposal)
    assert [accept["text"], another["text"], cancel_["text"]] == [
        "✅ Accept", "🔄 Another version", "✖️ Cancel"]
    [other] = await h.press(ann, proposal, another["callback_data"])
    assert other["method"] == "editMessageText" and "Your 21-day plan" in other["text"]
    [saved] = await h.press(ann, other, buttons(other)[0]["callback_data"])
    assert "Saved Read" in saved["text"] and len(buttons(saved)) == 3
    [today] = await h.say(ann, "/today")
    task = next(b for b in buttons(today) if b["text"].startswith("☑️ 1."))
    [ticked] = await h.press(ann, today, task["callback_data"])
    assert "+5 coins" in ticked["text"] and "1/3 of today's tasks done." in ticked["text"]
    [hint] = await h.say(ann, "thanks!")  # no question asked now: how commands look
    assert "Commands start with /" in hint["text"]


async def test_plain_text_in_a_group_is_not_an_answer(h: Harness, emu: TelegramEmulator):
    ann = emu.user(1001, "Ann")
    emu.add_chat(GROUP)
    await h.say(ann, "/plan read more")
    assert await h.say(ann, "to relax", GROUP) == []  # groups: only commands are answered
    sent = await h.say(ann, "/plan answer to relax", GROUP)
    # The question goes to the private chat; the group gets a note.
    assert any(r["chat_id"] == 1001 and "2/3" in r["text"] for r in sent)
    assert "private chat" in sent[-1]["text"] and sent[-1]["chat_id"] == GROUP["id"]
