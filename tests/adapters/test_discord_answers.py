"""A Discord command's reply is recorded with its effects: answered in the interaction, it is
written down as sent; when the interaction cannot be answered (its token gone, Discord down),
the outbox brings the reply to the person's DMs."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bots.commands import Deps
from core.storage.models import CheckIn, Outbox
from scheduler.dispatcher import Dispatcher
from tests.adapters.test_discord_bot import GUILD, alice, h
from tests.emulators.discord_harness import DiscordHarness, Payload

__all__ = ["alice", "h"]


async def answer_rows(deps: Deps) -> list[Outbox]:
    async with deps.db.session() as session:
        return list(await session.scalars(select(Outbox).where(Outbox.kind == "answer")))


async def test_an_answered_command_is_written_down_as_sent(
    h: DiscordHarness, alice: Payload, deps: Deps
) -> None:
    r = await h.slash(alice, "start")
    assert "Hi" in (r.content or "")
    await h.client.receipts.close()  # type: ignore[attr-defined]
    [row] = await answer_rows(deps)
    assert (row.status, row.chat) == ("sent", "dm:42")


async def test_a_reply_the_interaction_could_not_carry_reaches_the_dms(
    h: DiscordHarness, alice: Payload, deps: Deps
) -> None:
    await h.slash(alice, "habit add", {"name": "Read"})
    h.fail_next_http(404, {"message": "Unknown interaction", "code": 10062},
                     path="callback", include_webhooks=True)
    await h.slash(alice, "done", {"habit": "Read"}, guild_id=GUILD)
    async with deps.db.session() as session:
        assert len(list(await session.scalars(select(CheckIn)))) == 1  # the effect stands
    await h.client.receipts.close()  # type: ignore[attr-defined]
    rows = await answer_rows(deps)
    handed = [r for r in rows if r.status == "pending"]
    assert len(handed) == 1 and handed[0].claimed_until is None

    await Dispatcher(deps.db, h.client.notifier, deps.clock).drain()  # type: ignore[attr-defined]
    await asyncio.sleep(0)
    sent = h.calls(method="POST", path=r"^/channels/\d+/messages$")
    assert "**Read** done for today" in sent[-1]["payload"]["content"]
    assert {r.status for r in await answer_rows(deps)} == {"sent"}
