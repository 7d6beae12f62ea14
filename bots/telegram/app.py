"""The Telegram adapter assembled: Bot + Dispatcher with our router, dependencies injected
through the Dispatcher, run by long polling or behind a webhook."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.types import TelegramObject

from bots.commands import Deps
from bots.telegram.admins import AdminCache
from bots.telegram.handlers import Services, build_router
from bots.telegram.menu import publish
from bots.telegram.notifier import TelegramNotifier
from bots.telegram.webhook import serve_webhook

log = logging.getLogger("habitbot.telegram")


class TelegramBot:
    def __init__(
        self,
        deps: Deps,
        token: str,
        api_base: str | None = None,
        *,
        session: BaseSession | None = None,
        services: Services | None = None,
    ) -> None:
        if session is None:
            api = TelegramAPIServer.from_base(api_base) if api_base else PRODUCTION
            session = AiohttpSession(api=api)
        self.bot = Bot(token, session=session)
        self.services = services or Services(deps, AdminCache())
        self.dp = Dispatcher(services=self.services)
        self.dp.include_router(build_router())
        self.dp.update.outer_middleware(self._track)
        self.notifier = TelegramNotifier(self.bot, deps)
        self._inflight: set[asyncio.Task[Any]] = set()

    async def _track(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Remember updates being handled, so a shutdown can let them finish (aiogram does not
        wait for its per-update tasks before the session closes)."""
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            return await handler(event, data)
        finally:
            self._inflight.discard(task)  # type: ignore[arg-type]

    async def drain(self, grace: float = 10.0) -> None:
        """Wait (bounded) for updates still being handled."""
        pending = self._inflight - {asyncio.current_task()}
        if pending:
            log.info("Telegram: finishing %d update(s) in progress", len(pending))
            await asyncio.wait(pending, timeout=grace)

    @property
    def allowed_updates(self) -> list[str]:
        """Only the update kinds we handle: Telegram then never sends edits, channel posts..."""
        return self.dp.resolve_used_update_types()

    async def start(self) -> None:
        """Learn our username (for /cmd@bot and deep links) and publish the command menu."""
        me = await self.bot.me()
        log.info("Telegram: running as @%s", me.username)
        await publish(self.bot)

    async def poll(self, polling_timeout: int = 30) -> None:
        """Long polling until cancelled."""
        await self.start()
        await self.bot.delete_webhook(drop_pending_updates=False)  # polling and webhook exclude
        polling = asyncio.create_task(
            self.dp.start_polling(
                self.bot,
                polling_timeout=polling_timeout,
                handle_signals=False,  # habitbot.app owns the signals for every service
                close_bot_session=False,
                allowed_updates=self.allowed_updates,
            )
        )
        try:
            await asyncio.shield(polling)
        except asyncio.CancelledError:
            # Cancelling start_polling itself would orphan its getUpdates loop; ask it to stop.
            await self.dp.stop_polling()
            await polling
            raise
        finally:
            await self.drain()

    async def serve(self, url: str, secret: str | None, host: str, port: int) -> None:
        """Webhook server until cancelled. Without a configured secret, a fresh one is made for
        this registration (Telegram echoes whatever setWebhook was given)."""
        await self.start()
        try:
            await serve_webhook(
                self.dp,
                self.bot,
                url,
                secret or secrets.token_urlsafe(32),
                host,
                port,
                self.allowed_updates,
            )
        finally:
            await self.drain()

    async def close(self) -> None:
        await self.bot.session.close()


