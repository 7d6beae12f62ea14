"""DiscordHarness must drive the REAL discord.py client (tree, views, HTTP errors) offline."""

from __future__ import annotations

import asyncio
import io
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord
import pytest
import pytest_asyncio
from discord import app_commands
from discord.ext import commands

# tests/ has no conftest putting the repo root on sys.path; make `tests.emulators` importable.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.emulators.discord_harness import DiscordHarness  # noqa: E402

GUILD, CHANNEL, OWNER = 5000, 5001, 1
HABITS = ["Walk", "Water", "Read", "Run 5k"]


# ---------------------------------------------------------------- tiny demo bot
class DoneButton(discord.ui.DynamicItem[discord.ui.Button], template=r"habit:done:(?P<hid>\d+)"):
    """Persistent: the state lives in the custom_id, so it survives restarts."""

    def __init__(self, habit_id: int) -> None:
        button = discord.ui.Button(
            label="Done", style=discord.ButtonStyle.success, custom_id=f"habit:done:{habit_id}"
        )
        super().__init__(button)
        self.habit_id = habit_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str]
    ) -> DoneButton:
        return cls(int(match["hid"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        text = f"{interaction.user.name} finished habit {self.habit_id}"
        await interaction.response.edit_message(content=text, view=None)


class Confirm(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=60)
        self.value: bool | None = None

    @discord.ui.button(label="Yes", custom_id="confirm:yes")
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.value = True
        await interaction.response.send_message("confirmed", ephemeral=True)
        self.stop()


class RenameModal(discord.ui.Modal, title="Rename habit"):
    new_name: discord.ui.TextInput[RenameModal] = discord.ui.TextInput(
        label="New name", custom_id="new_name"
    )

    def __init__(self) -> None:
        super().__init__(custom_id="rename-modal")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Renamed to {self.new_name.value}")


habit = app_commands.Group(name="habit", description="Habits")


@habit.command(name="add", description="Add a habit")
async def habit_add(interaction: discord.Interaction, name: str) -> None:
    await interaction.response.send_message(f"Added {name}")


@habit.command(name="done", description="Mark done")
async def habit_done(interaction: discord.Interaction, name: str) -> None:
    await interaction.response.send_message(f"Done {name}")


@habit_done.autocomplete("name")
async def habit_done_name(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    hits = [h for h in HABITS if current.lower() in h.lower()]
    return [app_commands.Choice(name=h, value=h.lower()) for h in hits]


class DemoBot(discord.Client):
    def __init__(self, **kw: Any) -> None:
        super().__init__(intents=discord.Intents.default(), **kw)
        self.tree = app_commands.CommandTree(self)
        self.tree.add_command(habit)
        tree = self.tree

        @tree.command(description="Echo")
        async def echo(interaction: discord.Interaction, text: str, times: int = 1) -> None:
            await interaction.response.send_message(" ".join([text] * times))

        @tree.command(description="Secret")
        async def secret(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("psst", ephemeral=True)

        @tree.command(description="CSV report")
        async def report(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            csv = discord.File(io.BytesIO(b"habit,streak\nWalk,3\n"), filename="report.csv")
            sent = await interaction.followup.send("your report", file=csv, wait=True)
            data = await sent.attachments[0].read()  # served back from the fake CDN
            await interaction.edit_original_response(content=f"report ready ({len(data)} bytes)")

        @tree.command(description="Later")
        async def later(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True)

            async def finish() -> None:
                await asyncio.sleep(0.05)
                await interaction.followup.send("finally", ephemeral=True)

            self.background = asyncio.create_task(finish())

        @tree.command(description="Admin only")
        @app_commands.check(lambda i: i.permissions.manage_guild)
        async def admin(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("welcome admin")

        @admin.error
        async def admin_error(interaction: discord.Interaction, error: Exception) -> None:
            if isinstance(error, app_commands.CheckFailure):
                await interaction.response.send_message("denied", ephemeral=True)

        @tree.command(description="Check in")
        async def checkin(interaction: discord.Interaction, habit_id: int) -> None:
            view = discord.ui.View(timeout=None)
            view.add_item(DoneButton(habit_id))
            await interaction.response.send_message(f"Habit {habit_id}?", view=view)

        @tree.command(description="Ask")
        async def ask(interaction: discord.Interaction) -> None:
            view = Confirm()
            await interaction.response.send_message("sure?", view=view)
            await view.wait()  # the handler task stays alive until the click
            await interaction.followup.send(f"value={view.value}")

        @tree.command(description="Rename")
        async def rename(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(RenameModal())

        @tree.command(description="Who am I")
        async def whoami(
            interaction: discord.Interaction, friend: discord.User | None = None
        ) -> None:
            where = "guild" if interaction.guild else type(interaction.channel).__name__
            extra = f" friend={friend.name}" if friend else ""
            await interaction.response.send_message(f"{interaction.user.name} in {where}{extra}")

    async def setup_hook(self) -> None:
        self.add_dynamic_items(DoneButton)  # what a real bot does so old buttons keep working


async def notify(client: discord.Client, user_id: int, text: str) -> discord.Message:
    """A Notifier-style REST path: GET user, POST DM channel, POST message."""
    user = await client.fetch_user(user_id)
    return await user.send(text)


@pytest_asyncio.fixture
async def h() -> AsyncIterator[DiscordHarness]:
    harness = DiscordHarness(DemoBot())
    await harness.start()
    harness.add_guild(GUILD, "Runners", owner_id=OWNER, channel_ids=[CHANNEL])
    yield harness
    await harness.close()


@pytest.fixture
def alice(h: DiscordHarness) -> dict[str, Any]:
    return h.user(42, "alice")


# ---------------------------------------------------------------- interactions
@pytest.mark.asyncio
async def test_start_is_offline_and_ready(h: DiscordHarness) -> None:
    assert h.client.is_ready() and h.client.user and h.client.user.id == 1000
    assert h.client.application_id == 1000
    guild = h.client.get_guild(GUILD)
    assert guild and guild.name == "Runners" and guild.get_channel(CHANNEL)
    assert h.responses == []  # login's GETs are not recorded


@pytest.mark.asyncio
async def test_slash_with_typed_option_replies(h: DiscordHarness, alice: dict) -> None:
    r = await h.slash(alice, "echo", [{"name": "text", "type": 3, "value": "hi"},
                                      {"name": "times", "type": 4, "value": 3}], guild_id=GUILD)
    assert r.done and not r.errors
    assert (r.type, r.content, r.response["flags"]) == (4, "hi hi hi", None)
    assert r.response["path"] == f"/interactions/{r.payload['id']}/{r.payload['token']}/callback"
    assert r.response["message"]["content"] == "hi hi hi"  # what Discord answered with_response=1
    assert r.interaction and r.interaction.guild and r.interaction.guild.id == GUILD
    assert r.interaction.channel and r.interaction.channel.id == CHANNEL
    data = r.payload["data"]
    assert (data["name"], data["type"]) == ("echo", 1) and int(data["id"])


@pytest.mark.asyncio
async def test_ephemeral_reply_has_flag_64(h: DiscordHarness, alice: dict) -> None:
    r = await h.slash(alice, "secret", guild_id=GUILD)
    assert r.type == 4 and r.response["flags"] == 64
    assert r.response["response"]["interaction"]["response_message_ephemeral"] is True


@pytest.mark.asyncio
async def test_subcommand_routing(h: DiscordHarness, alice: dict) -> None:
    r = await h.slash(alice, "habit add", {"name": "Stretch"}, guild_id=GUILD)
    assert r.content == "Added Stretch"
    assert r.payload["data"]["options"] == [
        {"type": 1, "name": "add", "options": [{"name": "name", "value": "Stretch", "type": 3}]}
    ]
    assert r.interaction and r.interaction.command
    assert r.interaction.command.qualified_name == "habit add"


@pytest.mark.asyncio
async def test_autocomplete_returns_choices(h: DiscordHarness, alice: dict) -> None:
    choices = await h.autocomplete(alice, "habit done", [{"name": "name", "value": "wa"}],
                                   focused="name", guild_id=GUILD)
    assert choices == [{"name": "Walk", "value": "walk"}, {"name": "Water", "value": "water"}]
    assert h.responses[-1]["type"] == 8


@pytest.mark.asyncio
async def test_defer_then_followup_file(h: DiscordHarness, alice: dict) -> None:
    r = await h.slash(alice, "report", guild_id=GUILD)
    assert not r.errors, r.errors
    kinds = [(x["kind"], x["type"]) for x in r.responses]
    assert kinds == [("interaction_response", 5), ("followup", None), ("cdn", None),
                     ("edit_original", None)]
    followup = r.followups[0]
    assert followup["content"] == "your report"
    assert followup["files"] == [("report.csv", b"habit,streak\nWalk,3\n")]
    assert followup["message"]["attachments"][0]["filename"] == "report.csv"
    assert r.responses[-1]["content"] == "report ready (20 bytes)"
    original = h.messages[int(r.response["message"]["id"])]
    assert original["content"] == "report ready (20 bytes)" and original["flags"] == 0


@pytest.mark.asyncio
async def test_wait_responses_for_background_followup(h: DiscordHarness, alice: dict) -> None:
    r = await h.slash(alice, "later", guild_id=GUILD)
    assert (r.type, r.response["flags"]) == (5, 64) and not r.followups
    [followup] = await h.wait_responses(1)
    assert (followup["kind"], followup["content"], followup["flags"]) == ("followup", "finally", 64)


@pytest.mark.asyncio
async def test_check_sees_member_permissions(h: DiscordHarness, alice: dict) -> None:
    mod = discord.Permissions(manage_guild=True, send_messages=True).value
    ok = await h.slash(alice, "admin", guild_id=GUILD, member_permissions=mod)
    assert ok.content == "welcome admin"
    assert ok.interaction and ok.interaction.permissions.manage_guild
    no = await h.slash(alice, "admin", guild_id=GUILD, member_permissions=0)
    assert (no.content, no.response["flags"]) == ("denied", 64)
    assert no.interaction and not no.interaction.permissions.manage_guild


@pytest.mark.asyncio
async def test_dm_interaction_has_user_and_no_permissions(h: DiscordHarness, alice: dict) -> None:
    bob = h.user(43, "bob")
    r = await h.slash(alice, "whoami", {"friend": bob})
    assert r.content == "alice in DMChannel friend=bob"
    assert "member" not in r.payload and r.payload["user"]["id"] == "42"
    assert r.payload["data"]["resolved"]["users"]["43"]["username"] == "bob"
    assert r.interaction and r.interaction.permissions.value == 0


@pytest.mark.asyncio
async def test_view_click_is_attributed_to_its_interaction(h: DiscordHarness, alice: dict) -> None:
    asked = await h.slash(alice, "ask", guild_id=GUILD, timeout=0.1)
    assert (asked.done, asked.content) == (False, "sure?")  # still inside view.wait()
    # a non-persistent view is found by the message id Discord returned for the reply
    click = await h.click(alice, "confirm:yes", message=asked.response["message"], guild_id=GUILD)
    assert [(r["kind"], r["content"]) for r in click.responses] == [
        ("interaction_response", "confirmed")
    ]
    [late] = await h.wait_responses(1, kind="followup")  # /ask's followup, sent after the click
    assert late["content"] == "value=True" and late["interaction_id"] == asked.interaction.id


@pytest.mark.asyncio
async def test_modal_roundtrip(h: DiscordHarness, alice: dict) -> None:
    r = await h.slash(alice, "rename", guild_id=GUILD)
    assert r.type == 9 and r.response["payload"]["data"]["custom_id"] == "rename-modal"
    s = await h.submit_modal(alice, "rename-modal", {"new_name": "Walk 5k"}, guild_id=GUILD)
    assert (s.type, s.content) == (4, "Renamed to Walk 5k")


@pytest.mark.asyncio
async def test_dynamic_item_click_after_restart(h: DiscordHarness, alice: dict) -> None:
    sent = await h.slash(alice, "checkin", {"habit_id": 7}, guild_id=GUILD)
    button = sent.response["components"][0]["components"][0]
    assert button["custom_id"] == "habit:done:7"
    old_message = sent.response["message"]  # the message as Discord stored it
    await h.close()

    # "restart": a brand-new client + harness that never saw the message or the view
    h2 = DiscordHarness(DemoBot())
    await h2.start()
    try:
        r = await h2.click(alice, "habit:done:7", message=old_message, guild_id=GUILD)
        assert not r.errors, r.errors
        assert (r.type, r.content, r.response["components"]) == (7, "alice finished habit 7", [])
        assert r.response["message"]["id"] == old_message["id"]
        # no message given: the harness invents one that carries the button
        r2 = await h2.click(alice, "habit:done:9")
        assert (r2.type, r2.content) == (7, "alice finished habit 9")
    finally:
        await h2.close()


@pytest.mark.asyncio
async def test_commands_bot_and_setup_hook_sync() -> None:
    bot = commands.Bot(command_prefix=commands.when_mentioned, intents=discord.Intents.default())

    @bot.tree.command(description="Ping")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    async def setup_hook() -> None:
        await bot.tree.sync()

    bot.setup_hook = setup_hook  # type: ignore[method-assign]
    async with DiscordHarness(bot) as h:
        [sync] = h.calls(method="PUT", path=r"^/applications/1000/commands$")
        assert [c["name"] for c in sync["payload"]] == ["ping"]
        r = await h.slash(h.user(42, "alice"), "ping")
        assert r.content == "pong"
        assert r.payload["data"]["id"] == sync["response"][0]["id"]  # same id Discord assigned


# ---------------------------------------------------------------- REST + failures
@pytest.mark.asyncio
async def test_rest_dm_send_is_captured(h: DiscordHarness, alice: dict) -> None:
    msg = await notify(h.client, 42, "hi")
    assert msg.content == "hi" and isinstance(msg.channel, discord.DMChannel)
    calls = [(c["method"], c["path"]) for c in h.responses]
    dm_id = msg.channel.id
    assert calls == [("GET", "/users/42"), ("POST", "/users/@me/channels"),
                     ("POST", f"/channels/{dm_id}/messages")]
    assert h.responses[1]["payload"] == {"recipient_id": 42}
    assert h.responses[2]["content"] == "hi" and h.responses[2]["kind"] == "http"
    # the low-level path a Notifier might use directly
    ch = await h.client.http.start_private_message(42)
    assert ch["type"] == 1 and int(ch["id"]) == dm_id
    params = discord.http.handle_message_parameters(content="raw")
    await h.client.http.send_message(dm_id, params=params)
    assert h.responses[-1]["content"] == "raw"


@pytest.mark.asyncio
async def test_forbidden_50007(h: DiscordHarness, alice: dict) -> None:
    h.fail_next_http(403, {"code": 50007, "message": "Cannot send messages to this user"},
                     path=r"/messages$")
    with pytest.raises(discord.Forbidden) as exc:
        await notify(h.client, 42, "hi")
    assert (exc.value.status, exc.value.code) == (403, 50007)
    assert "Cannot send messages to this user" in str(exc.value)
    assert (await notify(h.client, 42, "again")).content == "again"  # only the next one fails


@pytest.mark.asyncio
async def test_not_found_unknown_channel(h: DiscordHarness) -> None:
    h.fail_next_http(404, {"code": 10003, "message": "Unknown Channel"})
    with pytest.raises(discord.NotFound) as exc:
        await h.client.http.send_message(999, params=discord.http.handle_message_parameters("x"))
    assert exc.value.code == 10003


@pytest.mark.asyncio
async def test_429_is_retried_inside_discord_py(h: DiscordHarness, alice: dict) -> None:
    h.fail_next_http(429, {"retry_after": 2.5}, path=r"/messages$")
    msg = await notify(h.client, 42, "eventually")  # no exception: HTTPClient slept + retried
    assert msg.content == "eventually"
    assert [c["status"] for c in h.calls(path=r"/messages$")] == [429, 200]


@pytest.mark.asyncio
async def test_429_surfaces_after_five_tries_or_cloudflare(h: DiscordHarness, alice: dict) -> None:
    h.fail_next_http(429, {"retry_after": 0.1}, times=5, path=r"/messages$")
    with pytest.raises(discord.HTTPException) as exc:
        await notify(h.client, 42, "x")
    assert exc.value.status == 429 and not isinstance(exc.value, discord.RateLimited)
    assert len(h.calls(path=r"/messages$")) == 5
    h.fail_next_http(429, {"retry_after": 0.1}, headers={}, path=r"/messages$")  # no Via
    with pytest.raises(discord.HTTPException):
        await notify(h.client, 42, "x")
    assert len(h.calls(path=r"/messages$")) == 6


@pytest.mark.asyncio
async def test_429_longer_than_max_ratelimit_timeout_raises_rate_limited() -> None:
    async with DiscordHarness(DemoBot(max_ratelimit_timeout=30.0)) as h:
        h.user(42, "alice")
        h.fail_next_http(429, {"retry_after": 60.0}, path=r"/messages$")
        with pytest.raises(discord.RateLimited) as exc:
            await notify(h.client, 42, "x")
        assert exc.value.retry_after == 60.0


@pytest.mark.asyncio
async def test_5xx_retried_then_server_error(h: DiscordHarness, alice: dict) -> None:
    h.fail_next_http(500, path=r"/messages$")
    assert (await notify(h.client, 42, "ok")).content == "ok"
    h.fail_next_http(503, {"message": "Service Unavailable", "code": 0}, times=5)
    with pytest.raises(discord.DiscordServerError) as exc:
        await h.client.http.send_message(1, params=discord.http.handle_message_parameters("x"))
    assert exc.value.status == 503


@pytest.mark.asyncio
async def test_failing_interaction_callback(h: DiscordHarness, alice: dict) -> None:
    h.fail_next_http(404, {"code": 10062, "message": "Unknown interaction"},
                     path="/callback$", include_webhooks=True)
    r = await h.slash(alice, "echo", {"text": "late"}, guild_id=GUILD)
    assert r.response and r.response["status"] == 404
    assert any("Ignoring exception" in e.getMessage() for e in r.errors)
