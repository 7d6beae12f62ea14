"""The Discord client: gateway connection, the generated slash tree, persistent buttons.

Intents: only non-privileged ones (no message content, members or presences): everything the
bot does arrives as an interaction. Sharding: with DISCORD_SHARD_COUNT (and optionally
DISCORD_SHARD_IDS="0,1", the shards this process runs) the client is an AutoShardedClient, so
several processes split the gateway; commands are synced only by the process that runs
shard 0 (or by the only process), to one guild when DISCORD_DEV_GUILD is set (instant) or
globally.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl

from bots.answers import Receipts
from bots.commands import Deps
from bots.commands.basics import group_intro
from bots.discord.notifier import DiscordNotifier
from bots.discord.render import NO_MENTIONS, ActionButton, AskButton, render
from bots.discord.tree import HabitbotTree
from scheduler.limits import Limiter

log = logging.getLogger("habitbot.discord")

DEFER_AFTER = 2.0  # seconds a command may run before its interaction is deferred (limit: 3)


def intents() -> discord.Intents:
    chosen = discord.Intents.default()
    chosen.message_content = chosen.members = chosen.presences = False  # privileged: not needed
    return chosen


def parse_shard_ids(text: str | None) -> list[int] | None:
    """ "0,1" -> [0, 1]; None or blank -> None (all shards of the count)."""
    if not text or not text.strip():
        return None
    return [int(part) for part in text.replace(" ", "").split(",") if part]


class _Habitbot:
    """What both client classes add to discord.py's (a mixin, so sharding is a choice of base)."""

    deps: Deps
    tree: HabitbotTree

    def __init__(
        self,
        deps: Deps,
        *,
        dev_guild: int | None = None,
        sync_commands: bool = True,
        defer_after: float = DEFER_AFTER,
        limiter: Limiter | None = None,
        **options: Any,
    ) -> None:
        options.setdefault("intents", intents())
        options.setdefault("allowed_mentions", NO_MENTIONS)
        super().__init__(**options)  # type: ignore[call-arg]
        self.deps = deps
        self.dev_guild = dev_guild
        self.sync_commands = sync_commands
        self.defer_after = defer_after
        self.receipts = Receipts(deps.db, deps.clock)
        self.tree = HabitbotTree(self, operator_guild=dev_guild)  # type: ignore[arg-type]
        self.notifier = DiscordNotifier(self, deps, limiter)  # type: ignore[arg-type]

    async def setup_hook(self) -> None:
        # Buttons on messages sent before this process started keep working.
        self.add_dynamic_items(ActionButton, AskButton)  # type: ignore[attr-defined]
        if self.sync_commands:
            await self.sync_tree()

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Added to a server: say what the bot does there, in a channel it may write to."""
        channel = writable_channel(guild)
        if channel is None:
            log.info("joined guild %s; no channel to introduce myself in", guild.id)
            return
        try:
            for message in (await render(self.deps, group_intro())).messages():
                await channel.send(**message)
        except discord.HTTPException as error:
            log.warning("could not introduce myself in guild %s: %s", guild.id, error)

    async def sync_tree(self) -> None:
        try:
            if self.dev_guild:
                guild = discord.Object(id=self.dev_guild)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d commands to guild %s", len(synced), self.dev_guild)
            else:
                synced = await self.tree.sync()
                log.info(
                    "synced %d global commands (clients pick them up within minutes)", len(synced)
                )
        except discord.HTTPException:
            # The bot still answers with what Discord has from the last sync.
            log.exception("syncing the slash commands failed")


def writable_channel(guild: discord.Guild) -> discord.TextChannel | None:
    """The server's system channel if the bot may write there, else its first text channel
    that it may."""
    me = guild.me

    def fits(channel: discord.TextChannel | None) -> bool:
        if channel is None or me is None:
            return False
        allowed = channel.permissions_for(me)
        return allowed.view_channel and allowed.send_messages

    if fits(guild.system_channel):
        return guild.system_channel
    return next((c for c in sorted(guild.text_channels, key=lambda c: c.position) if fits(c)), None)


class HabitbotDiscord(_Habitbot, discord.Client):
    """One gateway connection (small installs)."""


class ShardedHabitbotDiscord(_Habitbot, discord.AutoShardedClient):
    """Several shards in this process; which ones comes from the settings."""


def point_at(api_base: str) -> None:
    """Send discord.py to another server (DISCORD_API_BASE, e.g. an emulator on 127.0.0.1):
    REST under <base>/api/v10, the gateway at <base>/gateway (ws:// or wss://).

    discord.py builds every REST URL from the class attribute Route.BASE (webhooks and
    interaction follow-ups too), and connects to DiscordWebSocket.DEFAULT_GATEWAY: a client
    with a shard count never asks GET /gateway/bot, and an invalidated session goes back to
    the default. Both are process-wide, which fits one Discord client per process."""
    base = yarl.URL(api_base.rstrip("/"))
    if base.scheme not in ("http", "https") or not base.host:
        raise ValueError("DISCORD_API_BASE must be an http:// or https:// URL")
    version = discord.http.INTERNAL_API_VERSION
    discord.http.Route.BASE = f"{base}/api/v{version}"
    ws = base.with_scheme("wss" if base.scheme == "https" else "ws")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = ws / "gateway"
    log.info("Discord API at %s", base.with_user(None))  # never a token or a password


def create_client(
    deps: Deps,
    *,
    dev_guild: int | None = None,
    shard_count: int | None = None,
    shard_ids: str | None = None,
    api_base: str | None = None,
    **options: Any,
) -> HabitbotDiscord | ShardedHabitbotDiscord:
    if api_base:
        point_at(api_base)
    ids = parse_shard_ids(shard_ids)
    if ids is not None and not shard_count:
        raise ValueError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT (the total shard count)")
    if ids is not None and any(not 0 <= i < (shard_count or 0) for i in ids):
        raise ValueError(f"DISCORD_SHARD_IDS must be between 0 and {(shard_count or 1) - 1}")
    if not shard_count:
        return HabitbotDiscord(deps, dev_guild=dev_guild, **options)
    # Only one process should overwrite the commands: the one running shard 0.
    options.setdefault("sync_commands", ids is None or 0 in ids)
    return ShardedHabitbotDiscord(
        deps, dev_guild=dev_guild, shard_count=shard_count, shard_ids=ids, **options
    )


async def serve(client: discord.Client, token: str) -> None:
    """Connect and serve until cancelled (the caller's gather) or the gateway gives up."""
    try:
        async with client:
            await client.start(token)
    finally:
        receipts = getattr(client, "receipts", None)
        if receipts is not None:  # what was answered is written down before we exit
            await receipts.close()
