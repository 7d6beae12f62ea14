"""Serving Telegram's webhook: an aiohttp server that checks the secret-token header.

Several bot processes may sit behind one webhook URL (state is in the database), so stopping
one process leaves the webhook registered.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

log = logging.getLogger("habitbot.telegram")


def webhook_app(dp: Dispatcher, bot: Bot, path: str, secret: str) -> web.Application:
    """The aiohttp application; requests without the right X-Telegram-Bot-Api-Secret-Token
    header get 401 and never reach the dispatcher."""
    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token=secret).register(app, path=path)
    return app


def webhook_path(url: str) -> str:
    return urlsplit(url).path or "/"


async def serve_webhook(
    dp: Dispatcher,
    bot: Bot,
    url: str,
    secret: str,
    host: str,
    port: int,
    allowed_updates: list[str],
) -> None:
    """Listen on host:port and register `url` with Telegram; runs until cancelled."""
    # No access log: a webhook path may embed a secret, and per-update lines are noise.
    runner = web.AppRunner(webhook_app(dp, bot, webhook_path(url), secret), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        await bot.set_webhook(url, secret_token=secret, allowed_updates=allowed_updates)
        log.info("Telegram webhook listening on %s:%s", host, port)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
