"""Wiring: settings -> database -> adapters and scheduler. The only place that knows them all."""

from __future__ import annotations

import asyncio
import logging
import sys

from bots.commands import Deps
from bots.console.repl import Console
from core.clock import FakeClock, SystemClock
from core.storage.db import Database
from core.storage.migrate import revision, upgrade
from habitbot.settings import Settings

log = logging.getLogger("habitbot")


async def open_database(settings: Settings) -> Database:
    logging.getLogger("alembic").setLevel(logging.WARNING)
    db = Database(settings.db_url())
    await upgrade(db.engine)
    return db


async def db_command(settings: Settings, command: str, message: str) -> None:
    db = Database(settings.db_url())
    try:
        if command == "upgrade":
            await upgrade(db.engine)
            print("Database is up to date.")
        else:
            await revision(db.engine, message)
    finally:
        await db.dispose()


async def console(settings: Settings) -> None:
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    db = await open_database(settings)
    clock = FakeClock(SystemClock().now())
    deps = Deps(db, clock)
    repl = Console(deps, clock, color=sys.stdout.isatty(), image_dir=settings.data_dir / "images")
    from scheduler.console import ConsoleScheduler

    # :time runs the ticks for the time passed; queued messages print as "[to <name>]".
    delivery = ConsoleScheduler(repl, db, clock)
    background = asyncio.create_task(delivery.background())
    try:
        await repl.run()
    finally:
        background.cancel()
        await asyncio.gather(background, return_exceptions=True)
        await delivery.dispatcher.close()
        await db.dispose()


async def run(settings: Settings) -> None:
    if not (settings.telegram_bot_token or settings.discord_bot_token):
        log.info("No TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN set: starting the console.")
        await console(settings)
        return
    raise SystemExit("Platform adapters are not wired yet.")
