"""Telegram done natively: privacy in groups, signed buttons bound to their user, button results
that replace their message. Driven through the real aiogram dispatcher and the Bot API emulator."""

from __future__ import annotations

from sqlalchemy import func, select

from bots.commands import Deps
from bots.commands.executor import NOT_YOURS
from core.storage.models import CheckIn
from tests.adapters import test_telegram_adapter as base
from tests.adapters.test_telegram_adapter import GROUP, Harness, buttons
from tests.emulators.telegram_api import TelegramEmulator

emu, tg, h = base.emu, base.tg, base.h  # the same fixtures as the adapter's main tests

PERSONAL = ("No sugar", "Read", "streak", "coins", "gems")


def public_text(sent: list[dict], chat_id: int) -> str:
    return " ".join(
        (r.get("text") or r.get("caption") or "") + str(r.get("reply_markup") or "")
        for r in sent
        if r["chat_id"] == chat_id
    )


async def test_personal_answers_asked_in_a_group_go_to_the_private_chat(
    h: Harness, emu: TelegramEmulator
):
    ann = emu.user(7001, "Ann")
    emu.add_chat(GROUP)
    await h.say(ann, "/start")  # Ann opened a private chat with the bot
    await h.say(ann, "/habit add No sugar kind=quit")
    await h.say(ann, "/habit add Read every=day")
    await h.say(ann, "/done Read")
    for command in ("/today", "/stats", "/habits", "/wallet", "/badges", "/claim", "/done"):
        sent = await h.say(ann, command, GROUP)
        shown = public_text(sent, GROUP["id"])
        assert not any(word in shown for word in PERSONAL), (command, shown)
        assert "private chat" in shown, command
        assert any(r["chat_id"] == 7001 for r in sent), command
    [today] = [r for r in await h.say(ann, "/today", GROUP) if r["chat_id"] == 7001]
    assert "No sugar" in today["text"] and "Read" in today["text"]


async def test_a_private_challenges_invite_code_goes_to_the_admin_only(
    h: Harness, emu: TelegramEmulator
):
    boss = emu.user(7101, "Boss")
    emu.add_chat(GROUP)
    emu.set_member_status(GROUP["id"], boss["id"], "creator")
    await h.say(boss, "/start")
    sent = await h.say(boss, "/challenge new Secret days=7 habits=Walk private", GROUP)
    [private] = [r for r in sent if r["chat_id"] == 7101]
    assert "Invite code" in private["text"]
    code = private["text"].split("Invite code: ")[1].split()[0]
    assert code not in public_text(sent, GROUP["id"])
    sent = await h.say(boss, "/challenge invite 1", GROUP)
    assert code not in public_text(sent, GROUP["id"])
    assert any(code in (r["text"] or "") for r in sent if r["chat_id"] == 7101)


async def test_someone_elses_button_is_refused_and_a_press_names_who_pressed(
    h: Harness, emu: TelegramEmulator, deps: Deps
):
    ann, bob = emu.user(7201, "Ann"), emu.user(7202, "Bob")
    emu.add_chat(GROUP)
    [added] = await h.say(ann, "/habit add Gym", GROUP)
    [done] = buttons(added)

    assert await h.press(bob, added, done["callback_data"]) == []  # nothing posted or edited
    answer = emu.callback_answers[-1]
    assert answer["text"] == NOT_YOURS and answer.get("show_alert") is True
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 0

    [result] = await h.press(ann, added, done["callback_data"])
    assert result["method"] == "editMessageText" and result["message_id"] == added["message_id"]
    assert result["text"].startswith("Ann: ✅ Gym done for today")
    assert buttons(result) == []


def labels(rec: dict) -> list[str]:
    return [b["text"] for b in buttons(rec)]


async def test_remove_asks_with_a_button_and_the_press_removes_that_habit(
    h: Harness, emu: TelegramEmulator
):
    ann = emu.user(7301, "Ann")
    await h.say(ann, "/habit add Reading")
    [asked] = await h.say(ann, "/habit remove rea")
    assert "Remove Reading and all its check-ins?" in asked["text"]
    assert labels(asked) == ["🗑 Remove Reading", "✖️ Cancel"]
    confirm, _ = buttons(asked)
    assert confirm["callback_data"].endswith("habit remove|#1 confirm=yes")  # signed, by id
    [result] = await h.press(ann, asked, confirm["callback_data"])
    assert result["method"] == "editMessageText" and result["message_id"] == asked["message_id"]
    assert result["text"] == "Removed Reading and its check-ins." and buttons(result) == []
    [listed] = await h.say(ann, "/habits")
    assert "No habits yet" in listed["text"]


async def test_an_ambiguous_prefix_is_answered_with_buttons_to_pick(
    h: Harness, emu: TelegramEmulator
):
    ann = emu.user(7401, "Ann")
    await h.say(ann, "/habit add Read")
    await h.say(ann, "/habit add Rest")
    [asked] = await h.say(ann, "/done Re")
    assert "matches several habits" in asked["text"] and labels(asked) == ["Read", "Rest"]
    [result] = await h.press(ann, asked, buttons(asked)[1]["callback_data"])
    assert result["method"] == "editMessageText" and "Rest done for today" in result["text"]


async def test_a_49_habit_today_pages_its_keyboard(h: Harness, emu: TelegramEmulator, say):
    ann = emu.user(7501, "Ann")
    for i in range(49):
        await say(f"/habit add Habit {i:02d}", user="7501", platform="telegram")
    [today] = await h.say(ann, "/today")
    seen: list[str] = []
    for _ in range(4):
        rows = today["reply_markup"]["inline_keyboard"]
        assert len(rows) <= 11, len(rows)  # 20 habits in two columns, and the page row
        seen += [label for label in labels(today) if label.startswith("✅")]
        forward = [b for b in buttons(today) if b["text"].endswith("▶")]
        if not forward:
            break
        [today] = await h.press(ann, today, forward[0]["callback_data"])
        assert today["method"] == "editMessageText" and "Habit 48" in today["text"]
    assert seen == [f"✅ Habit {i:02d}" for i in range(49)]


async def test_a_reminder_set_in_a_group_by_someone_i_cannot_write_to_says_how(
    h: Harness, emu: TelegramEmulator
):
    ann = emu.user(7601, "Ann")  # never opened a private chat with the bot
    emu.add_chat(GROUP)
    sent = await h.say(ann, "/habit add Read remind=21:00", GROUP)
    assert all(r["chat_id"] == GROUP["id"] for r in sent)
    added, notice = sent
    assert "Added Read" in added["text"]
    assert "can't message you privately yet, so your reminders can't reach you" in notice["text"]
    [link] = buttons(notice)
    assert link["url"] == "https://t.me/habit_test_bot?start=go"
    # Once she opened the chat, nothing more is said.
    await h.say(ann, "/start")
    [edited] = await h.say(ann, "/habit edit Read remind=07:30", GROUP)
    assert "can't message you" not in edited["text"]


async def test_added_to_a_group_the_bot_says_what_it_does_there(
    h: Harness, emu: TelegramEmulator
):
    boss = emu.user(7701, "Boss")
    emu.add_chat(GROUP)
    bot = emu.bot_user

    def update(update_id: int, old: str, new: str) -> dict:
        return {
            "update_id": update_id,
            "my_chat_member": {
                "chat": GROUP, "from": boss, "date": 1,
                "old_chat_member": {"status": old, "user": bot},
                "new_chat_member": {"status": new, "user": bot},
            },
        }  # fmt: skip

    [hello] = await h.feed(update(90001, "left", "member"))
    assert hello["chat_id"] == GROUP["id"]
    assert "I help this group build habits together" in hello["text"]
    assert "/challenge new 30 days of reading days=30 habits=Read" in hello["text"]
    assert "/group settings announce=here digest=20:00" in hello["text"]
    # Removed: nothing to say (and no one to say it to).
    assert await h.feed(update(90002, "member", "left")) == []
