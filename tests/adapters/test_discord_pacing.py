"""Every request a Discord send makes fits the global limit, not only its first: the outbox
dispatcher takes one slot per send, the notifier one more for each further request (opening a
DM channel discord.py has not cached, each part after the first)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bots.commands import Deps
from bots.discord.app import HabitbotDiscord, point_at
from bots.reply import Reply
from scheduler.limits import DISCORD, Limiter
from tests.emulators.discord_harness import DiscordHarness

CHANNEL = 5001


class CountingLimiter(Limiter):
    def __init__(self) -> None:
        super().__init__(DISCORD)
        self.taken: list[str] = []

    async def acquire(self, chat: str) -> None:
        self.taken.append(chat)
        await super().acquire(chat)


@pytest.fixture
async def paced(deps: Deps) -> AsyncIterator[tuple[DiscordHarness, CountingLimiter]]:
    limiter = CountingLimiter()
    harness = DiscordHarness(HabitbotDiscord(deps, limiter=limiter))
    await harness.start()
    harness.add_guild(5000, "Runners", owner_id=1, channel_ids=[CHANNEL])
    harness.user(42, "alice")
    yield harness, limiter
    await harness.close()


def requests(h: DiscordHarness) -> int:
    return len(h.calls(method="POST"))


async def test_a_dm_not_yet_open_costs_two_slots_and_an_open_one_costs_one(
    paced: tuple[DiscordHarness, CountingLimiter],
) -> None:
    h, limiter = paced
    notifier = h.client.notifier
    before = requests(h)
    await notifier.send("dm:42", Reply.text("⏰ Time for Stretch"))
    assert requests(h) - before == 2  # open the DM, post the message
    assert limiter.taken == ["dm:42"]  # the second slot; the dispatcher took the first

    limiter.taken.clear()
    before = requests(h)
    await notifier.send("dm:42", Reply.text("⏰ Time for Read"))  # the DM is cached now
    assert requests(h) - before == 1 and limiter.taken == []


async def test_each_part_after_the_first_takes_a_slot(
    paced: tuple[DiscordHarness, CountingLimiter],
) -> None:
    h, limiter = paced
    long = Reply.text("\n".join(f"line {i} " + "x" * 90 for i in range(50)))  # three parts
    before = requests(h)
    await h.client.notifier.send(str(CHANNEL), long)
    assert requests(h) - before == 3
    assert limiter.taken == [str(CHANNEL)] * 2


def test_discord_api_base_points_rest_and_gateway_at_another_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import discord.gateway
    import discord.http

    # point_at changes process-wide class attributes: restored after this test.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)
    point_at("http://127.0.0.1:8765/")
    assert discord.http.Route("GET", "/users/@me").url == "http://127.0.0.1:8765/api/v10/users/@me"
    assert str(gateway.DEFAULT_GATEWAY) == "ws://127.0.0.1:8765/gateway"
    point_at("https://discord.example")
    assert str(gateway.DEFAULT_GATEWAY) == "wss://discord.example/gateway"
    with pytest.raises(ValueError, match="DISCORD_API_BASE"):
        point_at("discord.example")
