"""Serving Telegram's webhook: an aiohttp server that checks the secret-token header and takes
each update in durably (bots/telegram/intake.py) before it answers 200.

Several bot processes may sit behind one webhook URL (state is in the database), so stopping
one process leaves the webhook registered.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from aiohttp import web

from bots.telegram.intake import Intake

log = logging.getLogger("habitbot.telegram")


def webhook_app(
    intake: Intake, path: str, secret: str, app: web.Application | None = None
) -> web.Application:
    """The aiohttp application; requests without the right X-Telegram-Bot-Api-Secret-Token
    header get 401 and never reach the dispatcher. `app`: the web companion's, to share."""
    app = app if app is not None else web.Application()
    app.router.add_post(path, intake.webhook_handler(secret))
    return app


def webhook_path(url: str) -> str:
    return urlsplit(url).path or "/"


async def serve_webhook(
    intake: Intake,
    url: str,
    secret: str,
    host: str,
    port: int,
    allowed_updates: list[str],
    companion: web.Application | None = None,
) -> None:
    """Listen on host:port and register `url` with Telegram; runs until cancelled. Stopping
    refuses new updates at once and lets requests in progress finish."""
    # No access log: a webhook path may embed a secret, and per-update lines are noise.
    runner = web.AppRunner(
        webhook_app(intake, webhook_path(url), secret, companion), access_log=None
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        await intake.bot.set_webhook(url, secret_token=secret, allowed_updates=allowed_updates)
        log.info("Telegram webhook listening on %s:%s", host, port)
        await asyncio.Event().wait()
    finally:
        intake.stop()
        await runner.cleanup()
