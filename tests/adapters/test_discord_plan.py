"""/plan on Discord, driven by real interaction payloads: the conversation answered through the
Answer button's form (a modal) and through /plan answer, the proposal's buttons, a task."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bots.commands import Deps
from bots.discord.app import HabitbotDiscord
from tests.emulators.discord_harness import DiscordHarness

GUILD, CHANNEL, OWNER = 5000, 5001, 1
Payload = dict[str, Any]


@pytest.fixture
async def h(deps: Deps) -> AsyncIterator[DiscordHarness]:
    harness = DiscordHarness(HabitbotDiscord(deps))
    await harness.start()
    harness.add_guild(GUILD, "Runners", owner_id=OWNER, channel_ids=[CHANNEL])
    yield harness
    await harness.close()


def buttons(response: Payload) -> list[tuple[str, str]]:
    return [(c["label"], c["custom_id"])
            for row in response.get("components") or [] for c in row["components"]]


async def test_the_plan_subcommands_are_in_the_tree(h: DiscordHarness) -> None:
    [sync] = h.calls(method="PUT", path=r"^/applications/1000/commands$")
    plan = next(c for c in sync["payload"] if c["name"] == "plan")
    assert {o["name"] for o in plan["options"]} == {
        "new", "answer", "again", "accept", "show", "done", "drop", "restart"}
    assert any(c["name"] == "cancel" for c in sync["payload"])


async def test_a_plan_conversation_through_the_answer_form(h: DiscordHarness) -> None:
    alice = h.user(42, "alice")
    asked = await h.slash(alice, "plan new", {"goal": "read more"})
    assert not asked.errors, asked.errors
    assert "1/3" in asked.content and "(or just type it)" not in asked.content  # no chat text
    assert "`/plan answer text:`" in asked.content or "/plan answer" in asked.content
    [(answer_label, answer_id), (cancel_label, _)] = buttons(asked.response)
    assert (answer_label, cancel_label) == ("✍️ Answer", "✖️ Cancel")
    assert answer_id.startswith("hq:")

    form = await h.click(alice, answer_id, message=asked.response["message"])
    assert form.type == 9, form.responses  # MODAL
    modal = form.response["payload"]["data"]
    assert modal["title"] == "✍️ Answer"
    submitted = await h.submit_modal(alice, modal["custom_id"], {"answer": "to relax"})
    assert not submitted.errors, submitted.errors
    assert "2/3" in submitted.content

    third = await h.slash(alice, "plan answer", {"text": "my phone"})  # the slash way
    assert "3/3" in third.content
    form = await h.click(alice, buttons(third.response)[0][1], message=third.response["message"])
    modal = form.response["payload"]["data"]
    proposal = await h.submit_modal(alice, modal["custom_id"], {"answer": "evenings"})
    assert "Made by the built-in planner: no AI service is configured." in proposal.content
    assert "“to relax”" in proposal.content
    labels = [label for label, _ in buttons(proposal.response)]
    assert labels == ["✅ Accept", "🔄 Another version", "✖️ Cancel"]

    accept = buttons(proposal.response)[0][1]
    saved = await h.click(alice, accept, message=proposal.response["message"])
    assert saved.type == 7 and "Saved **Read**" in saved.content  # replaces the proposal
    task = next(cid for label, cid in buttons(saved.response) if label.startswith("☑️ 1."))
    ticked = await h.click(alice, task, message=saved.response["message"])
    assert "+5 coins" in ticked.content and "1/3 of today's tasks done." in ticked.content
    shown = await h.slash(alice, "plan show", {"habit": "Read"}, guild_id=GUILD)
    assert shown.response["flags"] == 64  # the plan is personal: ephemeral in a server
    assert "1/63 done" in shown.content


async def test_someone_elses_answer_button_is_refused(h: DiscordHarness) -> None:
    alice, bob = h.user(42, "alice"), h.user(43, "bob")
    asked = await h.slash(alice, "plan new", {"goal": "sleep better"}, guild_id=GUILD)
    answer_id = buttons(asked.response)[0][1]
    form = await h.click(bob, answer_id, guild_id=GUILD)
    modal = form.response["payload"]["data"]
    refused = await h.submit_modal(bob, modal["custom_id"], {"answer": "hi"}, guild_id=GUILD)
    assert "not yours" in refused.content and refused.response["flags"] == 64
