"""Discord done natively: privacy in servers, signed buttons bound to their user, button results
that replace their message. Raw interaction payloads through the real client and CommandTree."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from bots.commands import REGISTRY, Deps
from bots.commands.executor import NOT_YOURS
from core.storage.models import CheckIn, Group
from tests.adapters import test_discord_bot as base
from tests.adapters.test_discord_bot import GUILD, buttons
from tests.emulators.discord_harness import DiscordHarness

h, alice, bob = base.h, base.alice, base.bob  # the same fixtures as the adapter's main tests

EPHEMERAL = 64
Payload = dict[str, Any]


async def test_personal_answers_in_a_server_are_ephemeral(
    h: DiscordHarness, alice: Payload
) -> None:
    await h.slash(alice, "habit add", {"name": "No sugar", "kind": "quit"})
    await h.slash(alice, "habit add", {"name": "Read"})
    for name in ("today", "stats", "habit list", "wallet", "badges", "claim", "done"):
        r = await h.slash(alice, name, {}, guild_id=GUILD)
        assert r.response is not None and r.response["flags"] == EPHEMERAL, name
        for followup in r.followups:
            assert followup["flags"] == EPHEMERAL, name
    r = await h.slash(alice, "today", {}, guild_id=GUILD)
    assert "No sugar" in r.shown


async def test_a_check_in_in_a_server_is_answered_to_the_member_alone(
    h: DiscordHarness, alice: Payload
) -> None:
    await h.slash(alice, "habit add", {"name": "Walk"})
    r = await h.slash(alice, "done", {"habit": "Walk"}, guild_id=GUILD)
    # Not one public message per check-in in a busy channel; the member still sees the result.
    assert r.response is not None and r.response["flags"] == EPHEMERAL
    assert "Walk" in (r.content or "") and "done for today" in (r.content or "")


async def test_someone_elses_button_is_refused_and_a_press_names_who_pressed(
    h: DiscordHarness, alice: Payload, bob: Payload, deps: Deps
) -> None:
    added = await h.slash(alice, "habit add", {"name": "Gym"}, guild_id=GUILD)
    [button] = buttons(added.response)
    message = added.response["message"]
    refused = await h.click(bob, button, message=message, guild_id=GUILD)
    assert (refused.content, refused.response["flags"]) == (NOT_YOURS, EPHEMERAL)
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 0

    pressed = await h.click(alice, button, message=message, guild_id=GUILD)
    assert pressed.type == 7  # UPDATE_MESSAGE: the result replaces the message
    assert pressed.content.startswith("**alice**: ✅ **Gym** done for today")
    assert buttons(pressed.response) == []


KEY_VALUE = re.compile(r"`[^`]*\b[a-z]+=[^`]*`")


async def test_usage_text_on_discord_is_the_slash_command_with_its_options(
    h: DiscordHarness, alice: Payload
) -> None:
    shown: list[str] = []
    for top in REGISTRY.tops():
        r = await h.slash(alice, "help", {"command": top})
        shown.append(r.content or "")
    for name in ("start", "settings", "today", "habit list", "challenges", "leaderboard"):
        shown.append((await h.slash(alice, name, {})).shown)
    shown.append((await h.slash(alice, "habit edit", {"name": "Nope"})).content or "")
    text = "\n".join(shown)
    assert not KEY_VALUE.findall(text), KEY_VALUE.findall(text)[:5]
    assert "`/habit add name:Read every:day remind:21:00`" in text  # /start's second step
    assert "`/habit add name:Read every:day remind:21:00 target:20 unit:pages`" in text  # help
    assert "[every:day|weekdays|mon,wed,fri|3/week]" in text  # a usage line's options
    assert "`/challenge-new title:30 days of reading days:30 habits:Read;Stretch" in text
    assert "also: /habits" not in text  # Discord has no aliases


async def test_user_text_shows_as_typed_and_copies_back(h: DiscordHarness, alice: Payload) -> None:
    name = "Ping <@123> in <#456> or <@&1> `x`"
    added = await h.slash(alice, "habit add", {"name": name})
    content = added.content or ""
    assert r"\<@123>" in content and r"\<#456>" in content and r"\<@&1>" in content
    assert "ˋ" not in content
    # The /done hint in a code span keeps the backticks, so copying it gives the real name.
    assert f"`` /done habit:{name} ``" in content


def labels(response: Payload) -> list[str]:
    return [c["label"] for row in response.get("components") or [] for c in row["components"]]


async def test_challenge_end_asks_with_a_button_in_the_server(
    h: DiscordHarness, alice: Payload, bob: Payload
) -> None:
    admin = {"guild_id": GUILD, "member_permissions": 1 << 5}  # Manage Server
    await h.slash(alice, "challenge-new", {"title": "Move", "days": 7, "habits": "Walk"}, **admin)
    asked = await h.slash(alice, "challenge-end", {"challenge": "1"}, **admin)
    assert "End **Move** now?" in asked.content and labels(asked.response) == [
        "🏁 End it now",
        "✖️ Cancel",
    ]
    confirm, cancel = buttons(asked.response)
    message = asked.response["message"]
    refused = await h.click(bob, confirm, message=message, guild_id=GUILD)
    assert refused.content == NOT_YOURS and refused.response["flags"] == EPHEMERAL
    kept = await h.click(alice, cancel, message=message, **admin)
    assert kept.type == 7 and kept.content == "**alice**: ✖️ Cancelled: nothing changed."
    ended = await h.click(alice, confirm, message=message, **admin)
    assert ended.type == 7 and "**Move** has ended" in ended.shown
    assert buttons(ended.response) == []


async def test_an_ambiguous_prefix_offers_buttons_on_discord(
    h: DiscordHarness, alice: Payload
) -> None:
    await h.slash(alice, "habit add", {"name": "Read"})
    await h.slash(alice, "habit add", {"name": "Rest"})
    asked = await h.slash(alice, "done", {"habit": "Re"}, guild_id=GUILD)
    assert asked.response["flags"] == EPHEMERAL and labels(asked.response) == ["Read", "Rest"]
    picked = await h.click(
        alice, buttons(asked.response)[0], message=asked.response["message"], guild_id=GUILD
    )
    assert "✅ **Read** done for today" in picked.content


async def test_forty_pending_habits_are_all_reachable_25_buttons_at_most(
    h: DiscordHarness, alice: Payload, say: Any
) -> None:
    for i in range(40):  # as alice (discord:42), quicker than 40 slash commands
        await say(f"/habit add Habit {i:02d}", user="42", platform="discord")
    seen: list[str] = []
    r = await h.slash(alice, "done", {}, guild_id=GUILD)
    for _ in range(3):
        shown = labels(r.response)
        assert len(shown) <= 25 and len(r.response["components"]) <= 5
        seen += [label for label in shown if label.startswith("✅")]
        turn = [c for c in buttons(r.response) if "buttons=" in c]
        forward = [i for i, label in enumerate(shown) if label.endswith("▶")]
        if not forward:
            break
        r = await h.click(
            alice, buttons(r.response)[forward[0]], message=r.response["message"], guild_id=GUILD
        )
        assert r.type == 7 and turn  # the page replaces the message it was asked from
    assert seen == [f"✅ Habit {i:02d}" for i in range(40)]


async def test_a_user_install_answers_personal_commands_privately_anywhere(
    h: DiscordHarness, alice: Payload, deps: Deps
) -> None:
    await h.slash(alice, "habit add", {"name": "No sugar", "kind": "quit"})
    # A group DM among friends, through alice's own install of the app (context 2).
    data = h._command_data("today", {}, None, None, None)
    payload = h.interaction_payload(2, alice, data)
    payload |= {"context": 2, "authorizing_integration_owners": {"1": alice["id"]}}
    payload["channel"] = {**payload["channel"], "type": 3}  # GROUP_DM
    r = await h.feed(payload)
    assert r.response["flags"] == EPHEMERAL and "No sugar" in r.shown
    # A server the bot is not in (only alice installed it): hers alone, no group is made.
    data = h._command_data("today", {}, None, None, None)
    payload = h.interaction_payload(2, alice, data, guild_id=7777)
    payload["authorizing_integration_owners"] = {"1": alice["id"]}
    r = await h.feed(payload)
    assert r.response["flags"] == EPHEMERAL and "No sugar" in r.shown
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Group)) == 0


async def test_schedules_times_and_dates_autocomplete(h: DiscordHarness, alice: Payload) -> None:
    async def typed(option: str, text: str) -> list[str]:
        options = {"name": "Run", option: text}
        found = await h.autocomplete(alice, "habit add", options, focused=option)
        return [c["value"] for c in found]

    assert await typed("every", "wee") == ["weekdays", "weekends", "3/week", "5/week"]
    assert (await typed("every", "mon,thu"))[0] == "mon,thu"  # typed, and reads as a schedule
    assert await typed("remind", "21") == ["21:00"]
    assert (await typed("remind", "06:45,21:00"))[0] == "06:45,21:00"
    assert await typed("remind", "of") == ["off"]
    start = await h.autocomplete(
        alice,
        "challenge-new",
        {"title": "T", "days": 7, "habits": "Walk", "start": ""},
        focused="start",
    )
    assert [c["value"] for c in start][:3] == ["today", "tomorrow", "2026-03-04"]
    assert start[1]["name"] == "tomorrow (Tue 03 Mar)"


async def test_announce_is_a_yes_no_option_that_means_here(
    h: DiscordHarness, alice: Payload
) -> None:
    admin = {"guild_id": GUILD, "member_permissions": 1 << 5}
    r = await h.slash(alice, "group-settings", {"announce": True}, **admin)
    assert "announcements: this chat" in (r.content or ""), r.content


async def test_closed_dms_are_told_when_a_reminder_is_set_in_a_server(
    h: DiscordHarness, alice: Payload, deps: Deps
) -> None:
    from core.storage.models import Account

    h.fail_next_http(
        403, {"code": 50007, "message": "Cannot send messages to this user"}, path=r"/messages$"
    )
    r = await h.slash(alice, "habit add", {"name": "Read", "remind": "21:00"}, guild_id=GUILD)
    assert "Added **Read**" in r.content
    assert "can't message you privately yet, so your reminders can't reach you" in r.content
    assert "Privacy Settings" in r.content
    async with deps.db.session() as session:
        account = await session.scalar(select(Account))
        assert account is not None and account.unreachable

    # DMs opened again: the next reminder set in the server says nothing, the DM note arrives.
    fixed = await h.slash(alice, "habit edit", {"name": "Read", "remind": "07:30"}, guild_id=GUILD)
    assert "can't message you" not in fixed.content
    notes = [c for c in h.calls(method="POST", path=r"/channels/\d+/messages$")]
    assert (
        notes and notes[-1]["payload"]["content"] == "⏰ Your Habitbot reminders will arrive here."
    )
    async with deps.db.session() as session:
        account = await session.scalar(select(Account))
        assert account is not None and not account.unreachable
    # In DMs nothing needs checking.
    before = len(h.calls(method="POST", path=r"/channels/\d+/messages$"))
    await h.slash(alice, "habit edit", {"name": "Read", "remind": "08:00"})
    assert len(h.calls(method="POST", path=r"/channels/\d+/messages$")) == before


async def test_added_to_a_server_the_bot_says_what_it_does_in_a_writable_channel(
    h: DiscordHarness,
) -> None:
    import asyncio

    import discord

    write = discord.Permissions(view_channel=True, send_messages=True).value
    h.add_guild(6000, "Book Club", owner_id=1, channel_ids=[6001, 6002], joined=True,
                everyone=write, system_channel=6002)  # fmt: skip
    for _ in range(50):
        sent = h.calls(method="POST", path=r"^/channels/6002/messages$")
        if sent:
            break
        await asyncio.sleep(0.01)
    [hello] = sent
    text = hello["payload"]["content"]
    assert "I help this group build habits together" in text
    assert "`/challenge-new title:30 days of reading days:30 habits:Read`" in text
    assert "`/group-settings announce:True digest:20:00`" in text
    # A server where it may write nowhere: it stays quiet.
    h.add_guild(7000, "Quiet", owner_id=1, channel_ids=[7001], joined=True, everyone=0)
    await asyncio.sleep(0.05)
    assert not h.calls(method="POST", path=r"^/channels/7001/messages$")


async def test_today_stats_and_progress_are_embeds_with_colour_fields_and_the_heatmap(
    h: DiscordHarness, alice: Payload
) -> None:
    await h.slash(alice, "habit add", {"name": "Read"})
    today = await h.slash(alice, "today")
    [card] = today.embeds
    assert card["title"] == "Today, Mon 02 Mar" and card["color"] == 0x5865F2
    assert "⬜ Read" in card["description"] and today.content is None
    assert labels(today.response) == ["✅ Read"]  # the buttons stay under the card
    await h.slash(alice, "done", {"habit": "Read"})
    [card] = (await h.slash(alice, "today")).embeds
    assert card["color"] == 0x57F287 and "1/1 done" in card["description"]  # all done: green

    stats = await h.slash(alice, "stats", {"habit": "Read"})
    [card] = stats.embeds
    assert card["title"] == "Read — build, every day"
    fields = {f["name"]: f["value"] for f in card["fields"]}
    assert fields["streak"] == "1 day (best 1)" and fields["check-ins"] == "1"
    assert fields["strength"] == "5% — just starting"
    assert card["image"]["url"] == "attachment://heatmap.png"
    [(name, png)] = stats.response["files"]
    assert name == "heatmap.png" and png.startswith(b"\x89PNG")

    await h.slash(alice, "challenge-new", {"title": "Solo", "days": 3, "habits": "Walk"})
    progress = await h.slash(alice, "progress", {})
    [card] = progress.embeds
    assert card["title"] == "Your progress: Solo — 0/1 done" and card["color"] == 0x57F287


async def test_mentions_in_a_card_show_as_typed(h: DiscordHarness, alice: Payload) -> None:
    await h.slash(alice, "habit add", {"name": "Ping <@123> *now*"})
    [card] = (await h.slash(alice, "today")).embeds
    assert r"\<@123>" in card["description"] and r"\*now\*" in card["description"]
    [card] = (await h.slash(alice, "stats")).embeds
    assert card["fields"][0]["name"] == "Ping <@123> *now*"  # field names show no pills


async def test_a_refusal_from_core_writes_its_command_the_discord_way(
    h: DiscordHarness, alice: Payload
) -> None:
    r = await h.slash(alice, "done", {"habit": "Read"})
    text = r.content or ""
    # Core names the command apart from its words; Discord shows the slash command's options.
    assert "You have no habits yet" in text and "/habit add Read" not in text, text
    assert "`/habit add name:Read`" in text, text
