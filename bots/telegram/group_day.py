"""A group's day message on Telegram: check-ins there are acknowledged with a reaction, and
one message a day, edited a little after each burst of check-ins, says who has checked in.
Telegram lets a bot send about 20 messages a minute to a group; this spends a few."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest

from bots.commands import Deps
from bots.notifications import render
from bots.telegram.delivery import NO_PREVIEW, send_reply
from bots.telegram.render import chunks
from core.groups.day import day_message, sent_day_message
from scheduler.limits import Limiter

log = logging.getLogger("habitbot.telegram")

PLATFORM = "telegram"
DELAY = 20.0  # seconds after a check-in before the day message follows: at most 3 a minute


class GroupDays:
    def __init__(
        self, bot: Bot, deps: Deps, limiter: Limiter | None = None, delay: float = DELAY
    ) -> None:
        self.bot, self.deps, self.limiter, self.delay = bot, deps, limiter, delay
        self._due: dict[int, asyncio.Task[None]] = {}

    def touch(self, chat_id: int) -> None:
        """A member checked in: bring the day message up to date soon (once per burst)."""
        if chat_id not in self._due:
            self._due[chat_id] = asyncio.create_task(self._later(chat_id))

    async def _later(self, chat_id: int) -> None:
        await asyncio.sleep(self.delay)
        del self._due[chat_id]  # a check-in from here on makes another update
        try:
            await self.update(chat_id)
        except (TimeoutError, TelegramAPIError, aiohttp.ClientError) as error:
            log.info("day message of group %s not updated: %s", chat_id, type(error).__name__)
        except Exception:
            log.exception("day message of group %s failed", chat_id)

    async def update(self, chat_id: int) -> None:
        chat = str(chat_id)
        async with self.deps.db.session() as session:
            view = await day_message(session, PLATFORM, chat, self.deps.clock.now())
        if view is None:
            return
        reply = render("group_day", view.data)
        if self.limiter is not None:
            await self.limiter.acquire(chat)
        if view.edit is not None:
            with contextlib.suppress(TelegramBadRequest):  # unchanged, or deleted by an admin
                await self.bot.edit_message_text(
                    chunks(reply)[0].html,
                    chat_id=chat_id,
                    message_id=int(view.edit),
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                )
            return
        sent: str | None = None
        try:
            [message] = await send_reply(self.bot, self.deps, chat_id, reply)
            sent = str(message.message_id)
        finally:
            async with self.deps.db.session() as session:
                await sent_day_message(session, PLATFORM, chat, view.day, sent)

    def cancel(self) -> None:
        for task in self._due.values():
            task.cancel()
        self._due.clear()

    async def close(self) -> None:
        """Stopping: what is due goes out now rather than never."""
        due = list(self._due.items())
        self._due.clear()
        for chat_id, task in due:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.update(chat_id), 5)
