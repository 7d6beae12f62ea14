"""The bot speaking first on Discord (reminders, announcements, relayed messages).

Chat ids, as the adapter hands them to core: "dm:<user id>" is a person's DMs with the bot
(accounts.private_chat), a plain number is a channel (groups.announce_chat). Failures are
classified so the outbox knows whether to wait, retry or give up on the chat.
"""

from __future__ import annotations

import aiohttp
import discord

from bots.commands import Deps
from bots.discord.handlers import DM_PREFIX, PLATFORM
from bots.discord.render import render
from bots.notify import DeliveryError, Progress
from bots.reply import Reply
from scheduler.limits import Limiter

DEFAULT_RETRY_AFTER = 5.0  # seconds, when a 429 does not say
# Codes Discord uses for "this will never be delivered": cannot DM the user, unknown channel /
# user / guild, missing access or permission in the channel.
PERMANENT_CODES = {50007, 10003, 10013, 10004, 50001, 50013}


def classify(error: BaseException) -> DeliveryError:
    """Map a Discord failure to rate_limited / transient / permanent."""
    code = getattr(error, "code", 0) or 0
    status = getattr(error, "status", 0) or 0
    text = getattr(error, "text", "") or str(error)
    reason = f"{type(error).__name__} {status or ''} {code or ''}: {text}".replace("  ", " ")[:500]
    if isinstance(error, discord.RateLimited):  # longer than discord.py was willing to wait
        return DeliveryError("rate_limited", reason, retry_after=float(error.retry_after))
    if isinstance(error, discord.HTTPException) and status == 429:  # retried 5 times already
        return DeliveryError("rate_limited", reason, retry_after=_retry_after(error))
    if isinstance(error, discord.DiscordServerError) or status >= 500:
        return DeliveryError("transient", reason)
    if isinstance(error, discord.Forbidden | discord.NotFound) or code in PERMANENT_CODES:
        return DeliveryError("permanent", reason)
    if isinstance(error, discord.HTTPException) and status == 401:
        # A bad or revoked token is the operator's problem, not the chat's: keep the message.
        return DeliveryError("unauthorized", reason)
    if isinstance(error, discord.HTTPException) and 400 <= status < 500:
        return DeliveryError("permanent", reason)  # a message Discord will never accept
    if isinstance(error, ValueError):
        return DeliveryError("permanent", reason)  # not a chat id we ever handed out
    # Timeouts, connection trouble, a closed session, anything unrecognised: try again later.
    return DeliveryError("transient", reason)


def _retry_after(error: discord.HTTPException) -> float:
    headers = getattr(error.response, "headers", None) or {}
    try:
        return float(headers.get("Retry-After", DEFAULT_RETRY_AFTER))
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


class DiscordNotifier:
    """bots.notify.Notifier for Discord."""

    platform = PLATFORM

    def __init__(
        self, client: discord.Client, deps: Deps, limiter: Limiter | None = None
    ) -> None:
        self.client, self.deps, self.limiter = client, deps, limiter

    def ready(self) -> bool:
        """Connected to the gateway. The outbox dispatcher claims nothing before, so rows
        queued while Discord connects keep their attempts."""
        return self.client.is_ready() and not self.client.is_closed()

    async def send(self, chat: str, reply: Reply, progress: Progress | None = None) -> None:
        if not self.ready():
            raise DeliveryError("transient", "the Discord client is not connected (yet)")
        progress = progress or Progress()
        pace = _Pace(self.limiter, chat)
        try:
            target = await self._target(chat, pace)
            rendered = await render(self.deps, reply)
            for message in rendered.messages()[progress.parts :]:
                await pace()
                await target.send(**message)
                progress.parts += 1
        except (discord.DiscordException, aiohttp.ClientError, OSError, ValueError) as error:
            raise classify(error) from error  # OSError includes TimeoutError

    async def _target(self, chat: str, pace: _Pace) -> discord.abc.Messageable:
        if chat.startswith(DM_PREFIX):
            user = discord.Object(id=int(chat[len(DM_PREFIX) :]))
            # create_dm reuses a DM channel discord.py has cached (the last 128) and opens
            # one, a request like any other, otherwise.
            if self.client._connection._get_private_channel_by_user(user.id) is None:
                await pace()
            return await self.client.create_dm(user)
        return self.client.get_partial_messageable(int(chat))


class _Pace:
    """Every request of a send fits Discord's global limit, not only its first: the caller
    (the outbox dispatcher) took one slot for the send, and a reminder to someone whose DM
    channel is not cached costs two requests (open the DM, post), a long reply one per part.
    Two shard processes paced a reminder wave at 46 sends/s, 92 requests/s: 2,272 x 429 in
    1,000 reminders (tests/adapters/test_discord_scale_out.py)."""

    def __init__(self, limiter: Limiter | None, chat: str) -> None:
        self.limiter, self.chat, self.first = limiter, chat, True

    async def __call__(self) -> None:
        if self.first:  # paced by the caller
            self.first = False
        elif self.limiter is not None:
            await self.limiter.acquire(self.chat)
