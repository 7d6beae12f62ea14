"""The bot speaking first on Telegram (reminders, announcements, relayed messages), with each
failure classified so the outbox knows whether to wait, retry or give up on the chat."""

from __future__ import annotations

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)

from bots.commands import Deps
from bots.notify import DeliveryError, Progress
from bots.reply import Reply
from bots.telegram.delivery import send_reply

PLATFORM = "telegram"


def classify(error: BaseException, token: str = "") -> DeliveryError:
    """Map a Bot API failure to rate_limited / transient / permanent."""
    reason = f"{type(error).__name__}: {getattr(error, 'message', None) or error}"
    if token:
        reason = reason.replace(token, "<token>")
    reason = reason[:500]
    if isinstance(error, TelegramRetryAfter):
        return DeliveryError("rate_limited", reason, retry_after=float(error.retry_after))
    if isinstance(error, TelegramMigrateToChat):
        # The group became a supergroup; the migrate service message moves its row (handlers).
        return DeliveryError("permanent", f"{reason} (new chat {error.migrate_to_chat_id})")
    if isinstance(error, TelegramForbiddenError | TelegramBadRequest | TelegramEntityTooLarge):
        # 403: blocked by the user, kicked, not a member, deactivated; 400: chat not found,
        # or a message Telegram will never accept. Retrying cannot help.
        return DeliveryError("permanent", reason)
    if isinstance(error, TelegramUnauthorizedError):
        # A bad or revoked token is the operator's problem, not the chat's: keep the message.
        return DeliveryError("unauthorized", reason)
    # 5xx, timeouts, connection trouble, and anything unrecognised: worth another try.
    return DeliveryError("transient", reason)


class TelegramNotifier:
    """bots.notify.Notifier for Telegram. `chat` is a Telegram chat id (user or group)."""

    platform = PLATFORM

    def __init__(self, bot: Bot, deps: Deps) -> None:
        self.bot, self.deps = bot, deps

    async def send(self, chat: str, reply: Reply, progress: Progress | None = None) -> None:
        target: int | str = int(chat) if chat.lstrip("-").isdigit() else chat
        try:
            await send_reply(self.bot, self.deps, target, reply, progress=progress)
        except (TimeoutError, TelegramAPIError, aiohttp.ClientError) as error:
            raise classify(error, self.bot.token) from error
