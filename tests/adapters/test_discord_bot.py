"""The Discord adapter driven the way Discord drives it: raw INTERACTION_CREATE payloads
through the real client and CommandTree (DiscordHarness), every outgoing call captured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bots.actions import Pressed, pressed
from bots.commands import Deps
from bots.commands.executor import NOT_YOURS
from bots.discord.app import HabitbotDiscord, ShardedHabitbotDiscord, create_client, intents
from bots.discord.handlers import EXPIRED, PRIVATE_NOTE
from bots.discord.notifier import DiscordNotifier
from bots.discord.render import TEXT_LIMIT, view_for
from bots.notify import DeliveryError, Progress
from bots.reply import Action, Button, Reply, bold
from core.storage.models import Account, CheckIn, Group
from tests.emulators.discord_harness import DiscordHarness

GUILD, CHANNEL, OWNER = 5000, 5001, 1
MANAGE_GUILD = 1 << 5
Payload = dict[str, Any]


async def started(deps: Deps, **options: Any) -> DiscordHarness:
    harness = DiscordHarness(HabitbotDiscord(deps, **options))
    await harness.start()
    harness.add_guild(GUILD, "Runners", owner_id=OWNER, channel_ids=[CHANNEL])
    return harness


@pytest.fixture
async def h(deps: Deps) -> AsyncIterator[DiscordHarness]:
    harness = await started(deps)
    yield harness
    await harness.close()


@pytest.fixture
def alice(h: DiscordHarness) -> Payload:
    return h.user(42, "alice")


@pytest.fixture
def bob(h: DiscordHarness) -> Payload:
    return h.user(43, "bob")


def buttons(response: Payload) -> list[str]:
    return [c["custom_id"] for row in response.get("components") or [] for c in row["components"]]


# ---------------------------------------------------------------- start-up
async def test_start_syncs_the_generated_commands_globally(h: DiscordHarness) -> None:
    [sync] = h.calls(method="PUT", path=r"^/applications/1000/commands$")
    names = [c["name"] for c in sync["payload"]]
    assert {"start", "habit", "done", "challenge", "leaderboard", "wallet"} <= set(names)
    habit = next(c for c in sync["payload"] if c["name"] == "habit")
    assert {o["name"] for o in habit["options"]} == {"add", "list", "edit", "remove"}
    assert all(o["type"] == 1 for o in habit["options"])  # SUB_COMMAND


async def test_dev_guild_sync_and_only_unprivileged_intents(deps: Deps) -> None:
    harness = DiscordHarness(HabitbotDiscord(deps, dev_guild=777))
    await harness.start()
    try:
        assert harness.calls(method="PUT", path=r"^/applications/1000/guilds/777/commands$")
        assert not harness.calls(method="PUT", path=r"^/applications/1000/commands$")
    finally:
        await harness.close()
    chosen = intents()
    assert not (chosen.message_content or chosen.members or chosen.presences)
    assert chosen.guilds


def test_sharding_settings(deps: Deps) -> None:
    assert isinstance(create_client(deps), HabitbotDiscord)
    second = create_client(deps, shard_count=4, shard_ids="2, 3")
    assert isinstance(second, ShardedHabitbotDiscord)
    assert (second.shard_count, second.shard_ids, second.sync_commands) == (4, [2, 3], False)
    first = create_client(deps, shard_count=4, shard_ids="0,1")
    assert first.sync_commands and first.shard_ids == [0, 1]
    everything = create_client(deps, shard_count=2)
    assert everything.shard_ids is None and everything.sync_commands
    with pytest.raises(ValueError, match="SHARD_COUNT"):
        create_client(deps, shard_ids="0")
    with pytest.raises(ValueError, match="between 0 and 1"):
        create_client(deps, shard_count=2, shard_ids="2")


# ---------------------------------------------------------------- DMs
async def test_onboarding_in_dms(h: DiscordHarness, alice: Payload, deps: Deps) -> None:
    r = await h.slash(alice, "start")
    assert r.done and not r.errors, r.errors
    assert r.type == 4 and r.response["flags"] is None
    assert "👋 Hi **alice**" in r.content and "`/timezone zone:Europe/Berlin`" in r.content
    async with deps.db.session() as session:
        account = await session.scalar(select(Account).where(Account.platform == "discord"))
    assert account is not None
    assert (account.external_id, account.private_chat) == ("42", "dm:42")


async def test_habit_add_done_and_done_button_after_restart(
    h: DiscordHarness, alice: Payload, deps: Deps, clock: Any
) -> None:
    added = await h.slash(
        alice, "habit add", {"name": "Read", "every": "day", "target": 20.0, "unit": "pages"}
    )
    assert "Added **Read**" in added.content, added.content
    [button] = buttons(added.response)
    assert button.startswith("hb:") and button.endswith(".done|#1")  # signed, bound to alice
    old_message = added.response["message"]  # as Discord stored it, with the button

    done = await h.slash(alice, "done", {"habit": "Read", "amount": 25})
    assert "✅ **Read**: 25/20 pages — target met!" in done.content
    again = await h.slash(alice, "done", {"habit": "read"})
    assert "already done today" in again.content

    await h.close()
    clock.advance(timedelta(days=1))
    # "restart": a brand-new client and harness on the same database
    h2 = await started(deps)
    try:
        pressed = await h2.click(alice, button, message=old_message)
        assert not pressed.errors, pressed.errors
        # The result replaces the message the button sat on (type 7: UPDATE_MESSAGE).
        assert pressed.type == 7 and "✅ **Read**: 20/20 pages — target met!" in pressed.content
        assert "Streak: 2 days" in pressed.content
    finally:
        await h2.close()
    async with deps.db.session() as session:
        assert len((await session.scalars(select(CheckIn))).all()) == 2


async def test_wallet_is_ephemeral_in_a_server_not_in_dms(
    h: DiscordHarness, alice: Payload
) -> None:
    server = await h.slash(alice, "wallet", guild_id=GUILD)
    assert server.response["flags"] == 64 and "alice's wallet" in server.content
    dm = await h.slash(alice, "wallet")
    assert dm.response["flags"] is None


# ---------------------------------------------------------------- servers
async def test_a_member_seen_only_in_a_server_can_still_be_reminded_in_dms(
    h: DiscordHarness, bob: Payload, deps: Deps
) -> None:
    await h.slash(bob, "habit add", {"name": "Walk", "remind": "07:00"}, guild_id=GUILD)
    async with deps.db.session() as session:
        account = await session.scalar(select(Account).where(Account.external_id == "43"))
    assert account is not None and account.private_chat == "dm:43"


async def test_admin_creates_a_challenge_member_joins_and_sees_the_board(
    h: DiscordHarness, alice: Payload, bob: Payload, deps: Deps
) -> None:
    made = await h.slash(
        alice, "challenge-new", {"title": "March Miles", "days": 30, "habits": "Walk;Stretch"},
        guild_id=GUILD, member_permissions=MANAGE_GUILD,
    )  # fmt: skip
    assert made.response["flags"] is None, made.content
    assert "🏁 Challenge `#1` **March Miles** created." in made.content

    joined = await h.slash(bob, "join", {"challenge": "1"}, guild_id=GUILD)
    assert "🎯 You joined **March Miles**" in joined.content
    await h.slash(bob, "done", {"habit": "Walk"}, guild_id=GUILD)

    board = await h.slash(bob, "leaderboard", guild_id=GUILD)
    assert not board.errors, board.errors
    assert board.response["flags"] is None
    [embed] = board.embeds  # a card: title, the rows, "Together" as a field, the chart
    assert embed["title"] == "Leaderboard: March Miles" and "**bob**" in embed["description"]
    assert embed["fields"][0]["name"] == "Together" and embed["color"] == 0xFEE75C
    assert embed["image"]["url"] == "attachment://leaderboard.png"
    [(name, png)] = board.response["files"]
    assert name == "leaderboard.png" and png.startswith(b"\x89PNG")
    assert board.response["message"]["attachments"][0]["filename"] == "leaderboard.png"

    async with deps.db.session() as session:
        group = await session.scalar(select(Group).where(Group.platform == "discord"))
    assert group is not None
    assert (group.external_id, group.title, group.announce_chat) == ("5000", "Runners", "5001")


async def test_non_admin_is_refused_ephemerally(h: DiscordHarness, bob: Payload) -> None:
    r = await h.slash(
        bob,
        "challenge-new",
        {"title": "Mine", "days": 7, "habits": "Walk"},
        guild_id=GUILD,
        member_permissions=0,
    )
    assert r.response["flags"] == 64
    assert "Only group admins can create challenges here" in r.content


async def test_server_owner_is_admin_without_the_permission_bit(h: DiscordHarness) -> None:
    owner = h.user(OWNER, "olga")
    r = await h.slash(
        owner,
        "challenge-new",
        {"title": "Owned", "days": 7, "habits": "Walk"},
        guild_id=GUILD,
        member_permissions=0,
    )
    assert r.response["flags"] is None and "created" in r.content


async def test_a_server_the_bot_left_still_gets_an_answer(
    h: DiscordHarness, alice: Payload
) -> None:
    r = await h.slash(alice, "start", guild_id=9000, channel_id=9001)  # no GUILD_CREATE
    assert not r.errors and r.type == 4
    assert "This group is on Habitbot now" in r.content


async def test_button_pressed_by_someone_else(
    h: DiscordHarness, alice: Payload, bob: Payload, deps: Deps
) -> None:
    added = await h.slash(alice, "habit add", {"name": "Read"}, guild_id=GUILD)
    [button] = buttons(added.response)
    r = await h.click(bob, button, message=added.response["message"], guild_id=GUILD)
    assert r.response["flags"] == 64  # only bob sees it; alice's message is untouched
    assert r.content == NOT_YOURS
    async with deps.db.session() as session:
        assert (await session.scalars(select(CheckIn))).all() == []


async def test_expired_and_tampered_buttons(h: DiscordHarness, alice: Payload) -> None:
    for custom_id in ("hb:t:unknowntoken", "hb:rm -rf|x", "hb:t:" + "x" * 40):
        r = await h.click(alice, custom_id, guild_id=GUILD)
        assert (r.content, r.response["flags"]) == (EXPIRED, 64), custom_id


async def test_long_action_is_stored_behind_a_token(h: DiscordHarness, deps: Deps) -> None:
    long = Action("help", "habit " + "x" * 120)
    view = await view_for(deps, Reply.text("x").button_row(Button("Help", long)))
    assert view is not None
    [custom_id] = [item.custom_id for item in view.children]  # type: ignore[attr-defined]
    assert custom_id.startswith("hb:t:") and len(custom_id) <= 100
    assert await pressed(deps, custom_id[3:]) == Pressed(f"/help {long.args}", None)


# ---------------------------------------------------------------- autocomplete, limits
async def test_autocomplete_habits_and_a_stale_value(h: DiscordHarness, alice: Payload) -> None:
    assert await h.autocomplete(alice, "done", {"habit": "r"}, focused="habit") == []  # nobody yet
    for name in ("Read", "Walk", "Run 5k", "Stretch"):
        await h.slash(alice, "habit add", {"name": name})
    got = await h.autocomplete(alice, "done", {"habit": "r"}, focused="habit", guild_id=GUILD)
    assert [c["name"] for c in got] == ["Read", "Run 5k", "Stretch"]  # prefix matches first
    assert got[0]["value"] == "Read"
    assert await h.autocomplete(alice, "habit remove", {"name": "swim"}, focused="name") == []

    # a value picked before the habit was removed
    asked = await h.slash(alice, "habit remove", {"name": "Walk"})
    await h.click(alice, buttons(asked.response)[0], message=asked.response["message"])
    stale = await h.slash(alice, "done", {"habit": "Walk"}, guild_id=GUILD)
    assert stale.response["flags"] == 64
    assert stale.content.startswith("No habit named 'Walk'.")


async def test_autocomplete_challenges(h: DiscordHarness, alice: Payload, bob: Payload) -> None:
    await h.slash(
        alice,
        "challenge-new",
        {"title": "March Miles", "days": 30, "habits": "Walk"},
        guild_id=GUILD,
        member_permissions=MANAGE_GUILD,
    )
    await h.slash(
        alice, "challenge-new", {"title": "Secret", "days": 7, "habits": "Read", "private": True}
    )
    mine = await h.autocomplete(alice, "leaderboard", {"challenge": ""}, focused="challenge")
    assert {c["name"] for c in mine} == {"#1 March Miles", "#2 Secret"}
    theirs = await h.autocomplete(bob, "join", {"challenge": "m"}, focused="challenge")
    assert theirs == [{"name": "#1 March Miles", "value": "1"}]  # never someone's private one
    assert await h.autocomplete(bob, "join", {"challenge": "2"}, focused="challenge") == []


async def test_timezone_autocomplete(h: DiscordHarness, alice: Payload) -> None:
    got = await h.autocomplete(alice, "timezone", {"zone": "berl"}, focused="zone")
    assert got[0] == {"name": "Europe/Berlin", "value": "Europe/Berlin"}


async def test_options_at_their_length_limits(h: DiscordHarness, alice: Payload) -> None:
    name = "N" * 64
    ok = await h.slash(alice, "habit add", {"name": name}, guild_id=GUILD)
    assert f"Added **{name}**" in ok.content and ok.response["flags"] is None
    # Discord enforces max_length in its client; a forged longer value still gets a clear answer
    too_long = await h.slash(alice, "habit add", {"name": "M" * 65}, guild_id=GUILD)
    assert too_long.response["flags"] == 64 and "at most 64" in too_long.content

    title = "T" * 80
    habits = ";".join(f"{i}" + "h" * 63 for i in range(10))  # 10 names of 64: 649 characters
    made = await h.slash(alice, "challenge-new", {"title": title, "days": 365, "habits": habits})
    assert not made.errors and "created" in made.content, made.content
    assert all(len(m["content"] or "") <= TEXT_LIMIT for m in [made.response, *made.followups])


async def test_a_long_reply_is_split_at_2000_characters(h: DiscordHarness, alice: Payload) -> None:
    for i in range(40):
        await h.slash(alice, "habit add", {"name": f"{i:02d} " + "x" * 60})
    r = await h.slash(alice, "stats", guild_id=GUILD)
    assert not r.errors
    parts = [r.response, *r.followups]
    assert len(parts) >= 2 and all(len(p["content"] or "") <= TEXT_LIMIT for p in parts)
    assert parts[-1]["files"][0][0] == "heatmap.png"  # the image goes with the last part
    assert "00 xxx" in parts[0]["content"] and "39 xxx" in parts[-1]["content"]


async def test_markdown_in_user_text_is_escaped(h: DiscordHarness, alice: Payload) -> None:
    r = await h.slash(alice, "habit add", {"name": "*Read* _now_ @everyone"})
    assert r"**\*Read\* \_now\_ @everyone**" in r.content
    assert r.response["payload"]["data"]["allowed_mentions"] == {"parse": []}


# ---------------------------------------------------------------- slow commands
async def test_slow_public_reply_is_deferred_then_edited(deps: Deps) -> None:
    harness = await started(deps, defer_after=0)
    try:
        alice = harness.user(42, "alice")
        r = await harness.slash(alice, "habit add", {"name": "Read"}, guild_id=GUILD)
        assert not r.errors, r.errors
        assert [(x["kind"], x["type"]) for x in r.responses] == [
            ("interaction_response", 5),
            ("edit_original", None),
        ]
        original = harness.messages[int(r.response["message"]["id"])]
        assert "Added **Read**" in original["content"] and original["flags"] == 0
        assert original["components"][0]["components"][0]["custom_id"].endswith(".done|#1")
    finally:
        await harness.close()


async def test_slow_private_reply_never_shows_publicly(deps: Deps) -> None:
    harness = await started(deps, defer_after=0)
    try:
        alice = harness.user(42, "alice")
        r = await harness.slash(alice, "wallet", guild_id=GUILD)
        assert not r.errors, r.errors
        kinds = [(x["kind"], x["method"]) for x in r.responses]
        assert kinds == [
            ("interaction_response", "POST"),
            ("edit_original", "PATCH"),
            ("followup", "POST"),
            ("webhook", "DELETE"),
        ]
        assert r.responses[1]["content"] == PRIVATE_NOTE  # the public placeholder, defused
        followup = r.followups[0]
        assert followup["flags"] == 64 and "alice's wallet" in followup["content"]
    finally:
        await harness.close()


# ---------------------------------------------------------------- Notifier
@pytest.fixture
def notifier(h: DiscordHarness, deps: Deps) -> DiscordNotifier:
    return DiscordNotifier(h.client, deps)


async def test_notifier_sends_to_dms_and_channels(
    h: DiscordHarness, alice: Payload, notifier: DiscordNotifier
) -> None:
    reply = Reply.text("⏰ Time for ", bold("Read")).button_row(
        Button("✅ Done", Action("done", "#1"))
    )
    await notifier.send("dm:42", reply)
    dm, sent = h.calls(method="POST")[-2:]
    assert dm["path"] == "/users/@me/channels" and dm["payload"] == {"recipient_id": 42}
    [button] = buttons(sent["payload"])
    assert sent["content"] == "⏰ Time for **Read**" and button.endswith(".done|#1")
    await notifier.send(str(CHANNEL), Reply.text("🏁 starts today"))
    assert h.calls(method="POST")[-1]["path"] == f"/channels/{CHANNEL}/messages"


async def test_notifier_resumes_a_long_message_after_the_parts_that_arrived(
    h: DiscordHarness, alice: Payload, notifier: DiscordNotifier
) -> None:
    reply = Reply.text("\n".join(f"line {i} " + "x" * 90 for i in range(50)))  # ~5,000 chars
    progress = Progress()
    await notifier.send("dm:42", reply, progress)
    first = [c["content"] for c in h.calls(method="POST") if c["path"].endswith("/messages")]
    assert progress.parts == len(first) == 3

    h.fail_next_http(500, times=5, path=r"/messages$")  # the first part does not arrive
    failed = Progress()
    with pytest.raises(DeliveryError):
        await notifier.send("dm:42", reply, failed)
    assert failed.parts == 0

    resumed = Progress(2)  # an earlier attempt delivered two parts: only the last goes out
    before = len(h.calls(method="POST"))
    await notifier.send("dm:42", reply, resumed)
    posted = [c["content"] for c in h.calls(method="POST")[before:]]
    assert posted == first[2:] and resumed.parts == 3


async def test_notifier_user_who_cannot_be_reached(
    h: DiscordHarness, alice: Payload, notifier: DiscordNotifier
) -> None:
    h.fail_next_http(
        403, {"code": 50007, "message": "Cannot send messages to this user"}, path=r"/messages$"
    )
    with pytest.raises(DeliveryError) as error:
        await notifier.send("dm:42", Reply.text("hi"))
    assert error.value.failure == "permanent" and "50007" in error.value.reason
    h.fail_next_http(404, {"code": 10003, "message": "Unknown Channel"})
    with pytest.raises(DeliveryError) as error:
        await notifier.send("999", Reply.text("hi"))
    assert error.value.failure == "permanent"
    with pytest.raises(DeliveryError) as error:
        await notifier.send("not-a-chat", Reply.text("hi"))
    assert error.value.failure == "permanent"


async def test_notifier_rate_limits_and_server_errors(
    h: DiscordHarness, alice: Payload, notifier: DiscordNotifier
) -> None:
    h.fail_next_http(429, {"retry_after": 0.5}, path=r"/messages$")
    await notifier.send("dm:42", Reply.text("once"))  # discord.py waits and retries by itself
    h.fail_next_http(429, {"retry_after": 0.5}, times=5, path=r"/messages$")
    with pytest.raises(DeliveryError) as error:
        await notifier.send("dm:42", Reply.text("x"))
    assert error.value.failure == "rate_limited" and error.value.retry_after == 0.5
    h.fail_next_http(500, times=5, path=r"/messages$")
    with pytest.raises(DeliveryError) as error:
        await notifier.send("dm:42", Reply.text("x"))
    assert error.value.failure == "transient"


async def test_notifier_long_rate_limit_surfaces_retry_after(deps: Deps) -> None:
    harness = await started(deps, max_ratelimit_timeout=30.0)
    try:
        harness.user(42, "alice")
        harness.fail_next_http(429, {"retry_after": 60.0}, path=r"/messages$")
        with pytest.raises(DeliveryError) as error:
            await DiscordNotifier(harness.client, deps).send("dm:42", Reply.text("x"))
        assert (error.value.failure, error.value.retry_after) == ("rate_limited", 60.0)
    finally:
        await harness.close()


async def test_notifier_before_login_is_not_ready_and_transient(
    deps: Deps, notifier: DiscordNotifier
) -> None:
    assert notifier.ready()  # the harness's client is connected
    early = DiscordNotifier(HabitbotDiscord(deps), deps)
    assert not early.ready()  # so the outbox dispatcher claims nothing for it yet
    with pytest.raises(DeliveryError) as error:
        await early.send("dm:1", Reply.text("x"))
    assert error.value.failure == "transient"


async def test_forged_out_of_range_option_gets_an_ephemeral_answer(
    h: DiscordHarness, alice: Payload
) -> None:
    # Discord's client enforces min/max; a forged payload still gets an answer, not silence.
    r = await h.slash(alice, "challenges", {"page": 0}, guild_id=GUILD)
    assert not r.errors, r.errors
    assert r.response["flags"] == 64 and r.content.startswith("page must be at least 1.")
    # an older shape of a command (Discord not yet synced): a required option is missing
    stale = await h.slash(alice, "leave", {}, guild_id=GUILD)
    assert stale.response["flags"] == 64 and "just updated" in stale.content
