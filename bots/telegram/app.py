"""The Telegram adapter assembled: Bot + Dispatcher with our router, dependencies injected
through the Dispatcher, run by long polling or behind a webhook."""

from __future__ import annotations

import asyncio
import logging
import secrets

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.types import MenuButtonWebApp, WebAppInfo
from aiohttp.web import Application

from bots.answers import Receipts
from bots.commands import Deps
from bots.telegram.admins import AdminCache
from bots.telegram.group_day import GroupDays
from bots.telegram.handlers import Services, build_router
from bots.telegram.intake import Intake
from bots.telegram.menu import publish
from bots.telegram.notifier import TelegramNotifier
from bots.telegram.webhook import serve_webhook
from scheduler.limits import Limiter

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
        limiter: Limiter | None = None,  # None: direct replies are not paced (tests)
    ) -> None:
        if session is None:
            api = TelegramAPIServer.from_base(api_base) if api_base else PRODUCTION
            session = AiohttpSession(api=api)
        self.bot = Bot(token, session=session)
        self.services = services or Services(
            deps, AdminCache(), Receipts(deps.db, deps.clock), limiter
        )
        if self.services.group_days is None:
            self.services.group_days = GroupDays(self.bot, deps, limiter)
        self.dp = Dispatcher(services=self.services)
        self.dp.include_router(build_router())
        self.intake = Intake(self.dp, self.bot, deps)
        self.notifier = TelegramNotifier(self.bot, deps)

    async def drain(self, grace: float = 10.0) -> None:
        """Stopping: updates in progress finish and send their replies (bounded by `grace`),
        and what was delivered is written down."""
        await self.intake.drain(grace)
        if self.services.group_days is not None:
            await self.services.group_days.close()
        await self.services.receipts.close()

    @property
    def allowed_updates(self) -> list[str]:
        """Only the update kinds we handle: Telegram then never sends edits, channel posts..."""
        return self.dp.resolve_used_update_types()

    async def start(self) -> None:
        """Learn our username (for /cmd@bot and deep links) and publish the command menu."""
        me = await self.bot.me()
        log.info("Telegram: running as @%s", me.username)
        await publish(self.bot, operators=self.services.deps.operators)
        await self.publish_menu_button()

    async def publish_menu_button(self) -> None:
        """With the web companion on an https address, every private chat's menu button opens
        it as a Mini App (Telegram opens Mini Apps from https only)."""
        base = self.services.deps.web_url
        if not base or not base.startswith("https://"):
            return
        button = MenuButtonWebApp(text="Habitbot", web_app=WebAppInfo(url=f"{base}/tg"))
        try:
            await self.bot.set_chat_menu_button(menu_button=button)
        except TelegramAPIError as error:  # the bot works without it
            log.warning("Telegram: could not set the menu button: %s", error)

    async def poll(self, polling_timeout: int = 30) -> None:
        """Long polling until cancelled."""
        await self.start()
        await self.bot.delete_webhook(drop_pending_updates=False)  # polling and webhook exclude
        polling = asyncio.create_task(self.intake.poll(self.allowed_updates, polling_timeout))
        try:
            await self.intake.replay()
            await asyncio.shield(polling)
        except asyncio.CancelledError:
            self.intake.stop()  # the batch in hand is taken in and confirmed first
            await polling
            raise
        finally:
            await self.drain()

    async def serve(
        self, url: str, secret: str | None, host: str, port: int, web: Application | None = None
    ) -> None:
        """Webhook server until cancelled. Without a configured secret, a fresh one is made for
        this registration (Telegram echoes whatever setWebhook was given)."""
        await self.start()
        try:
            await self.intake.replay()
            await serve_webhook(
                self.intake,
                url,
                secret or secrets.token_urlsafe(32),
                host,
                port,
                self.allowed_updates,
                companion=web,
            )
        finally:
            await self.drain()

    async def close(self) -> None:
        if self.services.group_days is not None:
            self.services.group_days.cancel()
        await self.bot.session.close()
