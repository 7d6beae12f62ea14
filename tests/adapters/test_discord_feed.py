"""The feed on Discord: real INTERACTION_CREATE payloads through the client and CommandTree
(DiscordHarness). Posts are escaped and ping nobody, reaction buttons update the message,
the Comment button opens a form whose text becomes the comment."""

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
    harness = DiscordHarness(HabitbotDiscord(Deps(db, clock)))
    await harness.start()
    harness.add_guild(GUILD, "Runners", owner_id=OWNER, channel_ids=[CHANNEL])
    yield harness
    await harness.close()


def buttons(response: Payload) -> list[Payload]:
    return [c for row in response.get("components") or [] for c in row["components"]]


async def test_post_react_and_comment_through_the_form(h: DiscordHarness) -> None:
    alice, bob = h.user(42, "alice"), h.user(43, "bob")
    await h.slash(alice, "start")
    await h.slash(bob, "start")
    await h.slash(bob, "follow", {"person": "@alice"})
    posted = await h.slash(alice, "post", {"text": "**loud** @everyone <@43>"})
    assert not posted.errors and "Posted #1" in posted.content
    feed = await h.slash(bob, "feed")
    assert r"\*\*loud\*\*" in feed.content and "<@43>" not in feed.content.replace("\\<", "")
    like = next(b for b in buttons(feed.response) if b["label"] == "👍 #1")
    liked = await h.click(bob, like["custom_id"], message=feed.response["message"])
    assert not liked.errors, liked.errors
    assert liked.type == 7 and "👍 1 💬 0" in liked.content

    shown = await h.slash(bob, "post", {"text": "1"})
    comment = next(b for b in buttons(shown.response) if b["label"] == "💬 Comment")
    form = await h.click(bob, comment["custom_id"], message=shown.response["message"])
    assert form.type == 9, form.responses  # MODAL
    modal = form.response["payload"]["data"]
    field = modal["components"][0]["components"][0]["custom_id"]
    done = await h.submit_modal(bob, modal["custom_id"], {field: "Go @everyone"})
    assert not done.errors, done.errors
    assert "Comment c1 added to post #1" in done.content
    again = await h.slash(alice, "post", {"text": "1"})
    assert "Go @everyone" in again.content.replace("\\", "") and "💬 1" in again.content


async def test_group_posts_stay_in_the_server(h: DiscordHarness) -> None:
    alice, bob = h.user(42, "alice"), h.user(43, "bob")
    await h.slash(alice, "start", guild_id=GUILD)
    await h.slash(bob, "start")
    posted = await h.slash(alice, "post", {"text": "Runners only"}, guild_id=GUILD)
    assert "the feed of Runners" in posted.content, posted.errors
    seen = await h.slash(alice, "feed", guild_id=GUILD)
    assert "Runners only" in seen.content
    assert "Runners only" not in (await h.slash(bob, "feed")).content
    refused = await h.slash(bob, "post", {"text": "1"})
    assert "There is no post #1" in refused.content
