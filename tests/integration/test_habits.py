"""Issue 2 end to end: habits, check-ins, streaks and stats, driven through `say` with a fake
clock, asserting what the user reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bots.commands import REGISTRY, Deps
from bots.reply import Reply
from core.clock import FakeClock
from core.storage.db import Database
from tests.conftest import Say

DAY = timedelta(days=1)


def press(reply: Reply, label: str) -> str:
    """The text a platform sends when the button whose label contains `label` is pressed."""
    for row in reply.buttons:
        for button in row:
            if label in button.label:
                return f"/{button.action.command} {button.action.args}".strip()
    raise AssertionError(f"no button {label!r} in {button_labels(reply)}")


def button_labels(reply: Reply) -> list[str]:
    return [b.label for row in reply.buttons for b in row]


async def ok(say: Say, text: str, **kwargs: object) -> str:
    reply = await say(text, **kwargs)  # type: ignore[arg-type]
    assert not reply.error, f"{text!r} failed: {reply.plain()}"
    return reply.plain()


async def no_habits(say: Say) -> None:
    assert "No habits yet" in await ok(say, "/habits")


def at_local(day: date, hour: int, minute: int, tz: str) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(tz)).astimezone(UTC)


# --- /start and /help ------------------------------------------------------------------------


async def test_start_registers_and_explains_next_steps(say: Say) -> None:
    text = await ok(say, "/start")
    assert "Ann" in text
    assert "/timezone" in text and "/habit add" in text and "/done" in text


async def test_help_lists_every_registered_command(say: Say) -> None:
    text = await ok(say, "/help")
    listed = {line.split(" ", 1)[0] for line in text.splitlines() if line.startswith("/")}
    # Every command but the operators' (OPERATORS): to others those do not exist.
    assert listed >= {f"/{top}" for top in REGISTRY.visible(False).tops()}
    assert "/verify" not in listed
    for line in text.splitlines():
        if line.startswith("/"):
            assert " — " in line and len(line.split(" — ", 1)[1]) > 3, line


async def test_help_for_a_command_shows_its_usage(say: Say) -> None:
    text = await ok(say, "/help habit")
    for name in ("habit add", "habit list", "habit edit", "habit remove"):
        assert REGISTRY.commands[name].usage() in text
    assert "/habits" in text  # the alias is mentioned
    assert REGISTRY.commands["done"].usage() in await ok(say, "/help /done")
    assert REGISTRY.commands["habit add"].usage() in await ok(say, "/help habit add")


async def test_help_for_a_single_subcommand_top_describes_it(say: Say) -> None:
    text = await ok(say, "/help")
    freeze = next(line for line in text.splitlines() if line.startswith("/freeze"))
    assert REGISTRY.commands["freeze buy"].description in freeze


async def test_help_nonsense_is_a_short_error(say: Say) -> None:
    reply = await say("/help nonsense")
    assert reply.error
    assert "nonsense" in reply.plain() and "/help" in reply.plain()
    assert len(reply.lines) <= 3


async def test_unknown_command_suggests_the_closest(say: Say) -> None:
    reply = await say("/dne Read")
    assert reply.error
    assert "Unknown command /dne" in reply.plain()
    assert "/done" in reply.plain()
    await no_habits(say)


@pytest.mark.parametrize(
    ("typed", "closest", "listed"),
    [
        ("/habit ad Swim", "/habit add", "/habit remove"),
        ("/challenge nwe Move days=7 habits=Walk", "/challenge new", "/challenge info"),
        ("/challenge xyz", None, "/challenge list"),
        ("/freeze bye", "/freeze buy", "/freeze buy"),
    ],
)
async def test_a_mistyped_subcommand_names_the_closest_and_the_others(
    say: Say, typed: str, closest: str | None, listed: str
) -> None:
    # Before, "/habit ad Swim" answered "I did not understand 'ad Swim'. Usage: /habit list".
    reply = await say(typed)
    text = reply.plain()
    assert reply.error and "did not understand" not in text
    assert (f"Did you mean {closest}?" in text) if closest else "Did you mean" not in text
    assert listed in text
    await no_habits(say)


async def test_options_are_checked_and_free_text_runs_to_the_next_option(say: Say) -> None:
    refused = await say("/habit add Swim freq=3/week")
    assert refused.error and "Did you mean every=?" in refused.plain()
    await no_habits(say)
    assert "Added Nap: every day." in await ok(say, "/habit add Nap every = day")
    await ok(say, "/habit add Read")
    assert "Updated 📚 Lesen" in await ok(say, "/habit edit Read rename=📚 Lesen")
    assert "Options are key=value" in await ok(say, "/help habit")


async def test_done_without_habits_says_to_add_one(say: Say) -> None:
    # Before: "Nothing pending today 🎉" for someone with no habits at all.
    assert "No habits yet" in await ok(say, "/done")


async def test_a_duplicate_name_is_quoted_as_stored(say: Say) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/habit add Run")
    for typed in ("/habit add read", "/habit edit Run rename=READ"):
        refused = await say(typed)
        assert refused.error and "already have a habit called 'Read'" in refused.plain()


async def test_unclear_replies_read_right(say: Say) -> None:
    await ok(say, "/habit add Smoking kind=quit")
    assert "✅ Smoking clean today." in await ok(say, "/done Smoking")  # not "done" for a quit
    for i in range(11):
        await ok(say, f"/habit add H{i:02d}")
    missing = (await say("/done Nothing")).plain()
    assert missing.endswith(", … (12 in all).")  # a cut list says it is cut
    group = await ok(say, "/group", group="gym")
    assert "👥 1 member:" in group
    saved = await ok(say, "/group settings digest=20:00", group="gym", admin=True)
    assert saved.startswith("✅ Saved.")  # said first, not after the summary


async def test_bare_top_without_default_explains_its_subcommands(say: Say) -> None:
    reply = await say("/freeze")
    assert reply.error
    assert "/freeze buy" in reply.plain()


# --- /habit add, list, edit, remove --------------------------------------------------------


@pytest.mark.parametrize(
    ("every", "shown"),
    [
        ("day", "every day"),
        ("weekdays", "on weekdays"),
        ("weekends", "on weekends"),
        ("mon,wed,fri", "Mon, Wed, Fri"),
        ("3/week", "3 times a week"),
    ],
)
async def test_habit_add_with_each_schedule(say: Say, every: str, shown: str) -> None:
    text = await ok(say, f"/habit add Read every={every}")
    assert f"Added Read: {shown}" in text
    assert f"Read — {shown}" in await ok(say, "/habits")


async def test_habit_add_with_reminders_target_unit_and_kind(say: Say) -> None:
    reply = await say("/habit add Read every=day remind=07:30,21:00 target=20 unit=pages")
    assert not reply.error
    assert "target 20 pages" in reply.plain() and "reminder 07:30, 21:00" in reply.plain()
    assert "Reminders use UTC" in reply.plain()  # no time zone set yet
    assert button_labels(reply) == ["✅ Done today"]
    assert "quit" in await ok(say, "/habit add Smoking kind=quit")
    listing = await ok(say, "/habit list")
    assert "Read — every day · target 20 pages · reminder 07:30, 21:00" in listing
    assert "Smoking — every day · quit" in listing


async def test_habit_list_aliases_and_bare_habit(say: Say) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/habit add Run every=weekdays")
    listing = await ok(say, "/habit list")
    assert "Read" in listing and "Run" in listing
    assert await ok(say, "/habits") == listing
    assert await ok(say, "/habit") == listing
    assert await ok(say, "/HABITS") == listing


async def test_habit_edit_rename_schedule_and_reminder_off(say: Say) -> None:
    await ok(say, "/habit add Read every=day remind=07:30")
    assert "Updated Reading" in await ok(say, "/habit edit read rename=Reading")
    text = await ok(say, "/habit edit reading every=weekdays remind=off")
    assert "Updated Reading: on weekdays." in text
    listing = await ok(say, "/habits")
    assert "Reading — on weekdays" in listing and "reminder" not in listing
    assert "Read —" not in listing


async def test_habit_edit_with_nothing_to_change_is_refused(say: Say) -> None:
    await ok(say, "/habit add Read")
    reply = await say("/habit edit Read")
    assert reply.error and "what to change" in reply.plain()


async def test_habit_edit_rename_to_an_existing_name_is_refused(say: Say) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/habit add Run")
    reply = await say("/habit edit Run rename=READ")
    assert reply.error and "already have" in reply.plain()
    listing = await ok(say, "/habits")
    assert "Run" in listing and listing.count("Read") == 1


async def test_habit_remove(say: Say) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/done Read")
    assert "Removed Read" in (await say.confirmed("/habit remove read")).plain()
    await no_habits(say)


async def test_names_match_case_insensitively_and_by_unique_prefix(say: Say) -> None:
    await ok(say, "/habit add Read Books")
    await ok(say, "/habit add Run")
    assert "Read Books done" in await ok(say, "/done read books")
    assert "Run done" in await ok(say, "/done RU")
    assert "Read Books" in await ok(say, "/stats rea")


async def test_ambiguous_name_lists_candidates(say: Say) -> None:
    await ok(say, "/habit add Swim")
    await ok(say, "/habit add Smoking kind=quit")
    reply = await say("/done S 2")
    assert "Swim" in reply.plain() and "Smoking" in reply.plain()
    assert "+10 coins" not in reply.plain()
    assert "0/2 done" in await ok(say, "/today")
    # A button per match (issue 12): pressing one runs the same command for that habit.
    assert [b.label for row in reply.buttons for b in row] == ["Swim", "Smoking"]
    assert reply.private  # the caller's own habits
    picked = await say.press(reply, "Smoking")
    assert "Smoking" in picked.plain() and "clean today" in picked.plain()
    assert "1/2 done" in await ok(say, "/today")


async def test_remove_asks_first_and_never_acts_on_a_prefix_alone(say: Say) -> None:
    await ok(say, "/habit add Reading")
    await ok(say, "/done Reading")
    asked = await say("/habit remove rea")
    assert "Remove Reading and all its check-ins?" in asked.plain()
    assert [b.label for row in asked.buttons for b in row] == ["🗑 Remove Reading", "✖️ Cancel"]
    assert "Reading" in await ok(say, "/habits")  # nothing removed yet
    # Typing the confirm word is not pressing the button.
    assert "Reading" in await ok(say, "/habits")
    typed = await say("/habit remove #1 confirm=yes")
    assert "Removed" not in typed.plain()
    cancelled = await say.press(asked, "Cancel")
    assert cancelled.plain() == "✖️ Cancelled: nothing changed."
    assert "Reading" in await ok(say, "/habits")
    # Another user pressing it is refused; the owner's press removes exactly that habit.
    assert (await say.press(asked, "Remove", user="bob")).error
    done = await say.press(asked, "Remove")
    assert done.plain() == "Removed Reading and its check-ins."
    await no_habits(say)


async def test_unknown_name_lists_your_habits(say: Say) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/habit add Run")
    reply = await say("/done Walk")
    assert reply.error
    assert "Walk" in reply.plain() and "Read" in reply.plain() and "Run" in reply.plain()


async def test_duplicate_name_is_refused(say: Say) -> None:
    await ok(say, "/habit add Read")
    reply = await say("/habit add  read ")
    assert reply.error and "already have" in reply.plain()
    assert (await ok(say, "/habits")).count("Read") == 1


async def test_emoji_and_right_to_left_names_are_allowed_when_short(say: Say) -> None:
    await ok(say, "/habit add 📚 Books")
    await ok(say, "/habit add קריאה")
    await ok(say, "/habit add قراءة every=weekdays")
    assert "📚 Books done" in await ok(say, "/done 📚")
    assert "קריאה done" in await ok(say, "/done קריאה")
    listing = await ok(say, "/habits")
    assert "📚 Books" in listing and "קריאה" in listing and "قراءة" in listing


async def test_habits_are_private_to_each_user(say: Say) -> None:
    await ok(say, "/habit add Read")
    await no_habits_for(say, "bob")
    reply = await say("/done Read", user="bob")
    assert reply.error


async def no_habits_for(say: Say, user: str) -> None:
    assert "No habits yet" in await ok(say, "/habits", user=user)


# --- bad input: a short error, nothing written -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("/habit add", "Missing name"),
        ("/habit add Read remind=25:00", "25:00"),
        ("/habit add Read remind=7", "not a time"),
        ("/habit add Read every=fortnightly", "Unknown schedule"),
        ("/habit add Read every=8/week", "Unknown schedule"),
        ("/habit add Read target=-5", "target must be at least"),
        ("/habit add Read target=abc", "target must be a number"),
        ("/habit add Read target=0", "target must be at least"),
        ("/habit add Read target=nan", "target must be"),
        ("/habit add Read target=inf", "target must be"),
        ("/habit add Read unit=pages", "unit needs a target"),
        ("/habit add Read kind=maybe", "kind must be one of"),
        ("/habit add " + "x" * 5000, "too long"),
        ("/habit add " + "x" * 65, "too long"),
        ("/habit add #1", "cannot start with"),
        ("/habit add /read", "cannot start with"),
        ("/habit add " + "📚" * 70, "too long"),
        ("/habit edit Read every=day", "no habits"),
        ("/done", None),
        ("/undo", "Missing habit"),
        ("/stats Read", "no habits"),
    ],
)
async def test_bad_input_gets_a_short_reply_and_writes_nothing(
    say: Say, text: str, expect: str | None
) -> None:
    reply = await say(text)
    if expect is None:  # /done with no habits: a friendly answer, not an error
        assert "No habits yet" in reply.plain()
    else:
        assert reply.error, reply.plain()
        assert expect.lower() in reply.plain().lower()
        assert len(reply.plain()) < 400 and len(reply.lines) <= 3
        assert "Something went wrong" not in reply.plain()
    await no_habits(say)


async def test_bad_edit_changes_nothing(say: Say) -> None:
    await ok(say, "/habit add Read every=day remind=07:30 target=20 unit=pages")
    before = await ok(say, "/habits")
    for text in (
        "/habit edit Read every=sometimes",
        "/habit edit Read remind=24:00",
        "/habit edit Read target=-5",
        "/habit edit Read rename=" + "y" * 200,
        "/habit edit Read rename=#2",
        "/habit edit Read kind=stop",
    ):
        reply = await say(text)
        assert reply.error, text
        assert len(reply.lines) <= 3
    assert await ok(say, "/habits") == before


async def test_unknown_command_writes_nothing(say: Say) -> None:
    reply = await say("/habbit add Read")
    assert reply.error and "Unknown command" in reply.plain()
    await no_habits(say)


# --- /done, /undo, /today -------------------------------------------------------------------


async def coins(say: Say, user: str = "ann") -> int:
    text = await ok(say, "/wallet", user=user)
    line = next(line for line in text.splitlines() if "coins:" in line)
    return int(line.rsplit(" ", 1)[1])


async def test_done_checks_in_once_a_day(say: Say) -> None:
    await ok(say, "/habit add Read")
    text = await ok(say, "/done Read")
    assert "Read done for today" in text and "Streak: 1 day" in text and "+10 coins" in text
    assert await coins(say) == 10
    again = await say("/done read")
    assert not again.error
    assert "already done today" in again.plain() and "coins" not in again.plain()
    assert await coins(say) == 10


async def test_done_alone_offers_buttons_for_pending_scheduled_habits(say: Say) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/habit add Run")
    await ok(say, "/habit add Yoga every=weekends")  # Monday: not scheduled
    await ok(say, "/done Run")
    reply = await say("/done")
    assert not reply.error
    assert button_labels(reply) == ["✅ Read"]
    pressed = await ok(say, press(reply, "Read"))
    assert "Read done for today" in pressed
    assert "Nothing pending" in await ok(say, "/done")


async def test_the_add_reply_button_checks_in(say: Say) -> None:
    reply = await say("/habit add Read")
    assert "Read done for today" in await ok(say, press(reply, "Done today"))


async def test_a_button_for_a_removed_habit_says_so(say: Say) -> None:
    reply = await say("/habit add Read")
    await say.confirmed("/habit remove Read")
    stale = await say(press(reply, "Done"))
    assert stale.error and "no longer exists" in stale.plain()


async def test_another_users_button_does_not_touch_the_owners_habit(say: Say) -> None:
    reply = await say("/habit add Read")
    await ok(say, "/habit add Read", user="bob")
    pressed = await say(press(reply, "Done"), user="bob")
    # The button names ann's habit id; bob has no such habit.
    assert pressed.error
    assert "0/1 done" in await ok(say, "/today")


async def test_measurable_amounts_add_up_and_the_bonus_is_paid_once(say: Say) -> None:
    await ok(say, "/habit add Read target=20 unit=pages")
    text = await ok(say, "/done Read 10")
    assert "10/20 pages" in text and "target met" not in text and "+10 coins" in text
    today = await ok(say, "/today")
    assert "⬜ Read (10/20)" in today
    assert "Read" in button_labels(await say("/done"))[0]  # still pending
    text = await ok(say, "/done Read 15")
    assert "25/20 pages — target met!" in text and "+5 coins" in text
    assert await coins(say) == 15
    text = await ok(say, "/done Read 5")
    assert "30/20" in text and "coins" not in text
    assert await coins(say) == 15
    assert "✅ Read (30/20)" in await ok(say, "/today")


async def test_a_negative_or_endless_amount_is_refused_and_nothing_is_recorded(say: Say) -> None:
    await ok(say, "/habit add Read target=20 unit=pages")
    for text, why in (("/done Read -5", "at least 0.001"), ("/done Read 1e999", "a number")):
        reply = await say(text)
        assert reply.error and f"amount must be {why}" in reply.plain(), reply.plain()
    assert "⬜ Read" in await ok(say, "/today")
    assert await coins(say) == 0


async def test_measurable_plain_done_means_target_met(say: Say) -> None:
    await ok(say, "/habit add Read target=20 unit=pages")
    text = await ok(say, "/done Read")
    assert "20/20 pages — target met!" in text
    assert await coins(say) == 15


async def test_undo_today_gives_the_coins_back_and_redo_pays_again(say: Say) -> None:
    await ok(say, "/habit add Read target=20 unit=pages")
    await ok(say, "/done Read 25")
    assert await coins(say) == 15
    undone = await ok(say, "/undo read")
    assert "Undid Read for today" in undone and "🪙 −15 coins" in undone  # as the ledger says
    assert await coins(say) == 0
    assert "nothing to undo" in await ok(say, "/undo Read")
    assert await coins(say) == 0
    assert "+10 coins" in await ok(say, "/done Read 5")
    assert await coins(say) == 10
    await ok(say, "/undo Read")
    assert await coins(say) == 0


async def test_undo_yesterday(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/done Read")
    clock.advance(DAY)
    await ok(say, "/done Read")
    assert await coins(say) == 20
    assert "Undid Read for yesterday" in await ok(say, "/undo Read yesterday")
    assert await coins(say) == 10
    assert "nothing to undo" in await ok(say, "/undo Read yesterday")
    assert "Streak: 1 day" in await ok(say, "/done Read")  # already done; yesterday is gone


async def test_undo_after_a_removed_habit_does_not_reuse_old_payments(say: Say) -> None:
    # Removing a habit deletes its check-ins; new check-ins must still pay and undo exactly.
    await ok(say, "/habit add Read")
    await ok(say, "/done Read")
    await say.confirmed("/habit remove Read")
    await ok(say, "/habit add Run")
    assert "+10 coins" in await ok(say, "/done Run")
    assert await coins(say) == 20
    await ok(say, "/undo Run")
    assert await coins(say) == 10
    assert "+10 coins" in await ok(say, "/done Run")
    assert await coins(say) == 20


async def test_check_in_ids_reused_across_users_still_pay(say: Say) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/done Read")
    await ok(say, "/undo Read")
    await ok(say, "/habit add Read", user="bob")
    assert "+10 coins" in await ok(say, "/done Read", user="bob")
    assert await coins(say, "bob") == 10
    assert await coins(say) == 0


async def test_today_lists_done_pending_and_not_scheduled(say: Say) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/habit add Run")
    await ok(say, "/habit add Yoga every=weekends")
    await ok(say, "/done Read")
    reply = await say("/today")
    text = reply.plain()
    assert "Today, Mon 02 Mar" in text
    assert "✅ Read" in text and "⬜ Run" in text
    assert "➖ Yoga (not scheduled today)" in text
    assert "1/2 done" in text
    assert button_labels(reply) == ["✅ Run"]


async def test_today_with_no_habits(say: Say) -> None:
    assert "No habits yet" in await ok(say, "/today")


# --- streaks across days --------------------------------------------------------------------


async def streak_of(say: Say, habit: str = "Read", user: str = "ann") -> str:
    text = await ok(say, f"/stats {habit}", user=user)
    line = next(line for line in text.splitlines() if "streak:" in line)
    return line.split("streak: ", 1)[1]


async def test_daily_streak_grows_and_today_open_does_not_break(
    say: Say, clock: FakeClock
) -> None:
    await ok(say, "/habit add Read")
    for n in range(1, 4):
        assert f"Streak: {n} day" in await ok(say, "/done Read")
        clock.advance(DAY)
    assert (await streak_of(say)).startswith("3 days")  # today not done yet: still 3
    clock.advance(timedelta(hours=14))  # late evening, still not done
    assert (await streak_of(say)).startswith("3 days")


async def test_missing_a_day_breaks_the_streak(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/done Read")
    clock.advance(DAY)
    await ok(say, "/done Read")
    clock.advance(2 * DAY)  # skipped Wednesday
    assert (await streak_of(say)).startswith("0 days (best 2)")
    assert "Streak: 1 day" in await ok(say, "/done Read")


async def test_mon_wed_fri_skipping_tuesday_keeps_the_streak(
    say: Say, clock: FakeClock
) -> None:
    await ok(say, "/habit add Swim every=mon,wed,fri")
    assert "Streak: 1 day" in await ok(say, "/done Swim")  # Monday
    clock.advance(DAY)
    assert (await streak_of(say, "Swim")).startswith("1 day")  # Tuesday: not due
    assert "not scheduled today" in await ok(say, "/today")
    clock.advance(DAY)
    assert "Streak: 2 days" in await ok(say, "/done Swim")  # Wednesday
    clock.advance(2 * DAY)
    assert "Streak: 3 days" in await ok(say, "/done Swim")  # Friday
    clock.advance(3 * DAY)
    assert "Streak: 4 days" in await ok(say, "/done Swim")  # Monday
    clock.advance(4 * DAY)  # Friday, Wednesday was missed
    assert (await streak_of(say, "Swim")).startswith("0 days (best 4)")


async def test_three_per_week_counts_weeks(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Gym every=3/week")
    monday = clock.now()
    for count, offset in enumerate((0, 2), 1):  # Mon, Wed: the week under way is told
        clock.set(monday + offset * DAY)
        assert f"Streak: 0 weeks ({count}/3 this week)" in await ok(say, "/done Gym")
    clock.set(monday + 4 * DAY)
    assert "Streak: 1 week (3/3 this week)" in await ok(say, "/done Gym")  # Friday
    for offset in (7, 8, 9):  # next Mon, Tue, Wed
        clock.set(monday + offset * DAY)
        await ok(say, "/done Gym")
    assert (await streak_of(say, "Gym")).startswith("2 weeks")
    clock.set(monday + 14 * DAY)  # a new week with nothing yet: still 2
    assert (await streak_of(say, "Gym")).startswith("2 weeks")
    await ok(say, "/done Gym")
    clock.set(monday + 21 * DAY)  # that week ended with 1 of 3
    assert (await streak_of(say, "Gym")).startswith("0 weeks (0/3 this week) (best 2)")


async def test_time_zones_put_the_same_instant_on_different_dates(
    say: Say, clock: FakeClock
) -> None:
    await ok(say, "/timezone Pacific/Auckland", user="kiri")
    await ok(say, "/timezone America/Los_Angeles", user="lou")
    for user in ("kiri", "lou"):
        await ok(say, "/habit add Read", user=user)
    clock.set(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # Auckland 01:00 Tue, LA 04:00 Mon
    assert "Today, Tue 03 Mar" in await ok(say, "/today", user="kiri")
    assert "Today, Mon 02 Mar" in await ok(say, "/today", user="lou")
    await ok(say, "/done Read", user="kiri")
    await ok(say, "/done Read", user="lou")
    clock.set(datetime(2026, 3, 3, 2, 0, tzinfo=UTC))  # Auckland 15:00 Tue, LA 18:00 Mon
    assert "already done today" in await ok(say, "/done Read", user="kiri")
    assert "already done today" in await ok(say, "/done Read", user="lou")
    clock.set(datetime(2026, 3, 3, 11, 30, tzinfo=UTC))  # Auckland 00:30 Wed, LA 03:30 Tue
    assert "Streak: 2 days" in await ok(say, "/done Read", user="kiri")
    assert "Streak: 2 days" in await ok(say, "/done Read", user="lou")


async def test_checkins_either_side_of_local_midnight_are_two_days(
    say: Say, clock: FakeClock
) -> None:
    await ok(say, "/timezone Europe/Berlin")
    await ok(say, "/habit add Read")
    clock.set(datetime(2026, 3, 3, 22, 50, tzinfo=UTC))  # Berlin Tue 23:50
    await ok(say, "/done Read")
    clock.set(datetime(2026, 3, 3, 23, 10, tzinfo=UTC))  # Berlin Wed 00:10, same UTC day
    assert "Streak: 2 days" in await ok(say, "/done Read")


@pytest.mark.parametrize("first", [date(2026, 3, 26), date(2026, 10, 22)])  # 29 Mar, 25 Oct
async def test_dst_change_day_does_not_break_a_daily_streak(
    say: Say, clock: FakeClock, first: date
) -> None:
    tz = "Europe/Berlin"
    await ok(say, f"/timezone {tz}")
    clock.set(at_local(first, 8, 0, tz))
    await ok(say, "/habit add Read")
    # Late evening and just after midnight, across the night the clocks jump (2026-03-29).
    for i in range(6):
        day = first + i * DAY
        clock.set(at_local(day, 0, 30, tz) if i % 2 else at_local(day, 23, 30, tz))
        assert f"Streak: {i + 1} day" in await ok(say, "/done Read"), day
    assert (await streak_of(say)).startswith("6 days")
    assert f"Today, {first + 5 * DAY:%a %d %b}" in await ok(say, "/today")


async def test_timezone_change_keeps_history(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/done Read")
    clock.advance(DAY)
    await ok(say, "/done Read")
    await ok(say, "/timezone Asia/Tokyo")
    assert (await streak_of(say)).startswith("2 days")


# --- /stats ---------------------------------------------------------------------------------


async def test_stats_show_streak_completion_and_strength(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Read")
    for _ in range(13):
        await ok(say, "/done Read")
        clock.advance(DAY)
    clock.advance(-DAY)  # back to day 13, the last check-in
    text = await ok(say, "/stats Read")
    assert "streak: 13 days (best 13)" in text
    assert "completion: 100% last 7 days, 100% last 30 days" in text
    assert "strength: 50%" in text and "on its way" in text
    assert "check-ins: 13" in text


async def test_stats_completion_counts_missed_days(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Read")
    for i in range(8):
        if i not in (2, 5):
            await ok(say, "/done Read")
        clock.advance(DAY)
    clock.advance(-DAY)
    text = await ok(say, "/stats Read")
    # Last 7 days = days 1..7, missed 2 and 5.
    assert "completion: 71% last 7 days, 75% last 30 days" in text
    assert "streak: 2 days (best 2)" in text


async def test_stats_image_is_a_png_with_a_text_grid(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/habit add Run")
    await ok(say, "/done Read")
    reply = await say("/stats")
    assert not reply.error
    assert reply.image is not None and reply.image.startswith(b"\x89PNG")
    assert reply.image_alt is not None
    rows = reply.image_alt.splitlines()
    assert [r[:2] for r in rows] == ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
    assert "Read" in reply.plain() and "Run" in reply.plain()
    one = await say("/stats Read")
    assert one.image is not None and one.image.startswith(b"\x89PNG")
    assert one.image_alt is not None and "█" in one.image_alt


async def test_stats_with_no_habits(say: Say) -> None:
    reply = await say("/stats")
    assert not reply.error and "No habits yet" in reply.plain() and reply.image is None


async def test_quit_habit_counts_clean_days(say: Say, clock: FakeClock) -> None:
    await ok(say, "/habit add Smoking kind=quit")
    await ok(say, "/done Smoking")
    clock.advance(DAY)
    assert "Streak: 2 clean days" in await ok(say, "/done Smoking")


# --- persistence ----------------------------------------------------------------------------


async def test_data_survives_a_restart(db: Database, clock: FakeClock, say: Say) -> None:
    await ok(say, "/timezone Europe/Berlin")
    await ok(say, "/habit add Read target=20 unit=pages")
    await ok(say, "/done Read 25")
    await db.dispose()
    reopened = Database(db.url)
    try:
        again = Say(Deps(reopened, clock))
        assert "Read — every day · target 20 pages" in await ok(again, "/habits")
        assert "already done today" in await ok(again, "/done Read")
        assert await coins(again) == 15
        assert "Europe/Berlin" in await ok(again, "/timezone")
    finally:
        await reopened.dispose()


async def test_a_habit_name_typed_with_nul_and_a_lone_surrogate_is_stored_clean(
    say: Say,
) -> None:
    reply = await say("/habit add Re\x00ad\ud800 every=day")
    assert not reply.error and "Added Read" in reply.plain(), reply.plain()
    assert "Read done for today" in (await say("/done Read")).plain()
