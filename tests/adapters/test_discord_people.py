"""Profiles on Discord: real INTERACTION_CREATE payloads through the client and CommandTree
(DiscordHarness). Buttons are signed for the viewer and work when clicked; a profile in a
server is ephemeral; user text is escaped; operator commands are not in the global tree."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bots.commands import Deps
from bots.discord.app import HabitbotDiscord
from core.clock import FakeClock
from core.storage.db import Database
from tests.emulators.discord_harness import DiscordHarness

GUILD, CHANNEL, OWNER = 5000, 5001, 1
Payload = dict[str, Any]


@pytest.fixture
async def h(db: Database, clock: FakeClock) -> AsyncIterator[DiscordHarness]:
    deps = Deps(db, clock, operators=frozenset({"discord:99"}))
    harness = DiscordHarness(HabitbotDiscord(deps))
    await harness.start()
    harness.add_guild(GUILD, "Runners", owner_id=OWNER, channel_ids=[CHANNEL])
    yield harness
    await harness.close()


def buttons(response: Payload) -> list[Payload]:
    return [c for row in response.get("components") or [] for c in row["components"]]


async def test_profile_with_follow_and_report_buttons(h: DiscordHarness) -> None:
    alice, bob = h.user(42, "alice"), h.user(43, "bob")
    await h.slash(alice, "start")
    await h.slash(bob, "start")
    await h.slash(alice, "bio", {"text": "**loud** <@43> reader"})
    seen = await h.slash(bob, "profile", {"person": "@alice"})
    assert not seen.errors, seen.errors
    assert "**@alice** — alice" in seen.content
    assert r"\*\*loud\*\* \<@43> reader" in seen.content  # markdown and mentions escaped
    follow, report = buttons(seen.response)
    assert (follow["label"], report["label"]) == ("➕ Follow", "🚩 Report")
    assert follow["custom_id"].endswith(".follow|@alice")  # signed, bound to bob
    assert report["custom_id"].endswith(".report|@alice")

    followed = await h.click(bob, follow["custom_id"], message=seen.response["message"])
    assert not followed.errors, followed.errors
    assert followed.type == 7 and "You follow @alice now" in followed.content
    mine = await h.slash(alice, "profile")
    assert "1 follower · 0 following" in mine.content

    why = await h.click(bob, report["custom_id"], message=seen.response["message"])
    spam = next(b for b in buttons(why.response) if b["label"] == "Spam")
    received = await h.click(bob, spam["custom_id"], message=why.response["message"])
    assert "your report about @alice was received" in received.content


async def test_a_profile_in_a_server_is_ephemeral(h: DiscordHarness) -> None:
    alice, bob = h.user(42, "alice"), h.user(43, "bob")
    await h.slash(alice, "start")
    await h.slash(alice, "settings", {"profile": "private"})
    seen = await h.slash(bob, "profile", {"person": "alice"}, guild_id=GUILD)
    assert seen.response["flags"] == 64
    assert seen.content.startswith("**@alice**") and "private" in seen.content
    assert [b["label"] for b in buttons(seen.response)] == ["➕ Ask to follow", "🚩 Report"]


async def test_operator_commands_are_not_global_and_unknown_to_others(h: DiscordHarness) -> None:
    [sync] = h.calls(method="PUT", path=r"^/applications/1000/commands$")
    names = {c["name"] for c in sync["payload"]}
    assert {"profile", "follow", "people", "block", "report"} <= names
    assert not {"verify", "unverify", "reports"} & names
    bob = h.user(43, "bob")
    await h.slash(bob, "start")
    # A stale client still showing /verify: the command answers as unknown.
    refused = await h.slash(bob, "verify", {"person": "@bob"})
    assert "Unknown command /verify" in (refused.content or ""), refused.errors


async def test_person_options_autocomplete_handles(h: DiscordHarness) -> None:
    alice, anna, bob = h.user(42, "alice"), h.user(44, "anna"), h.user(43, "bob")
    for user in (alice, anna, bob):
        await h.slash(user, "start")
    choices = await h.autocomplete(bob, "follow", {"person": "@a"}, focused="person")
    assert [c["value"] for c in choices] == ["@alice", "@anna"]
    await h.slash(anna, "block", {"person": "@bob"})
    choices = await h.autocomplete(bob, "profile", {"person": "an"}, focused="person")
    assert choices == []  # who blocked you is not offered
