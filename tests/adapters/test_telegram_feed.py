"""The feed on Telegram: updates through the real aiogram dispatcher, the Bot API emulator
answering. Posts are escaped, reaction and paging buttons are signed and work when pressed,
and in a group /post and /feed act on that group, whose admins delete anything in it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bots.commands import Deps
from bots.telegram.app import TelegramBot
from tests.adapters.test_telegram_adapter import BOT, GROUP, Harness, buttons
from tests.emulators.telegram_api import TelegramEmulator


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


async def test_post_react_comment_and_page(h: Harness, emu: TelegramEmulator) -> None:
    ann, bob = emu.user(1001, "Ann"), emu.user(1002, "Bob")
    await h.say(ann, "/start")
    await h.say(bob, "/start")
    await h.say(bob, "/follow @ann")
    [posted] = await h.say(ann, "/post <b>not bold</b> & @everyone")
    assert "Posted #1" in posted["text"]
    [feed] = await h.say(bob, "/feed")
    assert "<b>not bold</b> & @everyone" in feed["text"]  # arrives as text, not markup
    like, show = buttons(feed)[:2]
    assert (like["text"], show["text"]) == ("👍 #1", "💬 #1")
    [liked] = await h.press(bob, feed, like["callback_data"])
    assert liked["method"] == "editMessageText" and "👍 1 💬 0" in liked["text"]
    [shown] = await h.press(bob, liked, buttons(liked)[1]["callback_data"])
    labels = [b["text"] for b in buttons(shown)]
    assert labels[:5] == ["👍 1", "🔥", "💪", "🎉", "❤️"]
    # Comment asks for the text with a ForceReply prompt; the reply to it is the comment.
    comment = next(b for b in buttons(shown) if b["text"] == "💬 Comment")
    [prompt] = await h.press(bob, shown, comment["callback_data"])
    assert prompt["reply_markup"]["force_reply"] is True
    [added] = await h.feed(emu.send_text(bob, "Go Ann", reply_to=prompt["message_id"]))
    assert "Comment c1 added to post #1" in added["text"]
    [fire] = await h.press(bob, shown, buttons(shown)[1]["callback_data"])
    assert "👍 1 🔥 1" in fire["text"]
    [commented] = await h.say(bob, "/comment 1 Nice <i>one</i>")
    assert "Comment c2 added to post #1" in commented["text"]
    [again] = await h.say(ann, "/post 1")
    assert "Go Ann" in again["text"] and "Nice <i>one</i>" in again["text"]
    assert "💬 2" in again["text"]

    for i in range(12):  # a second page: Older ➡️ turns to it, ⬅️ Newer comes back
        await h.say(ann, f"/post number {i}")
    [first] = await h.say(bob, "/feed")
    older = next(b for b in buttons(first) if b["text"] == "Older ➡️")
    [second] = await h.press(bob, first, older["callback_data"])
    assert "number 1\n" in second["text"] + "\n" and "not bold" in second["text"]
    assert any(b["text"] == "⬅️ Newer" for b in buttons(second))


async def test_group_feed_and_admin_delete(h: Harness, emu: TelegramEmulator) -> None:
    boss, ann = emu.user(1000, "Boss"), emu.user(1001, "Ann")
    emu.add_chat(GROUP)
    emu.set_member_status(GROUP["id"], boss["id"], "creator")
    await h.say(ann, "/start")
    [posted] = await h.say(ann, "/post Run at 7 tomorrow", GROUP)
    assert posted["chat_id"] == GROUP["id"] and "the feed of Runners" in posted["text"]
    [feed] = await h.say(boss, "/feed", GROUP)
    assert feed["chat_id"] == GROUP["id"] and "Run at 7 tomorrow" in feed["text"]
    [mine] = await h.say(ann, "/feed")  # Ann's own feed holds her group's posts too
    assert "Run at 7 tomorrow" in mine["text"]
    [deleted] = await h.say(boss, "/unpost 1", GROUP)
    assert "Post #1 deleted" in deleted["text"]
    [empty] = await h.say(ann, "/feed", GROUP)
    assert "Run at 7" not in empty["text"]
