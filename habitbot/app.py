"""Wiring: settings -> database -> adapters and scheduler. The only place that knows them all."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from bots.commands import Deps
from bots.console.repl import CLOCK_FILE, Console, restore_clock
from bots.notify import Notifier
from core.challenges.standings import rebuild_all
from core.clock import FakeClock, SystemClock
from core.storage import sqlite as embedded
from core.storage.cipher import Cipher
from core.storage.db import Database
from core.storage.migrate import revision, upgrade
from core.storage.sqlite import is_busy
from habitbot.keys import check_keys, start_cipher
from habitbot.redact import hide_in_logs
from habitbot.settings import Settings
from scheduler.limits import Limiter, SharedBudget, budget_id, limits_for

log = logging.getLogger("habitbot")
T = TypeVar("T")


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop where it is installed (not on Windows): each round trip to PostgreSQL
    costs a quarter less CPU than on asyncio's own loop (bench/updates.py)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


async def open_database(settings: Settings) -> Database:
    """The migrated database. Another process holding SQLite's write lock is waited for (up
    to core.storage.sqlite.LOCK_WAIT); past that, start-up stops with an explanation."""
    db = Database(settings.db_url())
    try:
        await upgrade(db.engine)
    except Exception as error:
        await db.dispose()
        if not is_busy(error):
            raise
        where = db.engine.url.database
        raise SystemExit(
            f"The database {where} is locked by another process (another habitbot, or a tool "
            f"holding it open for writing) and stayed locked for {embedded.LOCK_WAIT:.0f} s. "
            "Stop that process or wait for it to finish, then start again."
        ) from error
    url = db.engine.url  # the backend and database name only: never the password
    log.info("Database: %s %s, schema up to date.", url.get_backend_name(), url.database)
    return db


async def db_command(settings: Settings, command: str, message: str) -> None:
    db = Database(settings.db_url())
    try:
        if command == "upgrade":
            await upgrade(db.engine)
            print("Database is up to date.")
        elif command == "rebuild-standings":
            async with db.session() as session:
                count = await rebuild_all(session)
            print(f"Rebuilt the standings of {count} challenge(s) from their check-ins.")
        else:
            await revision(db.engine, message)
    finally:
        await db.dispose()


async def keys_command(settings: Settings, args: argparse.Namespace) -> None:
    """`keys new` prints a key; `keys rotate` re-encrypts every message under the first key,
    with a progress bar, a batch per transaction (stopped, it resumes where it was)."""
    if args.keys_command == "new":
        print(Cipher.new_key())
        return
    from core.messaging.rotation import Rotation, rotate_messages

    box = start_cipher(settings)
    db = Database(settings.db_url())
    tty = sys.stdout.isatty()
    last = [args.after]  # the last message id done, for a resume

    def progress(done: Rotation) -> None:
        last[0] = done.last_id
        share = done.seen / done.total if done.total else 1.0
        bar = "#" * int(share * 30)
        line = f"[{bar:<30}] {done.seen:,}/{done.total:,} messages, {done.rotated:,} re-encrypted"
        print(f"\r{line}" if tty else f"{line} (up to id {done.last_id})", end="" if tty else "\n")

    try:
        await upgrade(db.engine)
        done = await rotate_messages(db, box, args.after, args.batch, progress)
    except BaseException:
        print(f"\nStopped; run again to go on, or resume with --after {last[0]}.")
        raise
    finally:
        await db.dispose()
    if tty:
        print()
    print(
        f"Done: {done.rotated:,} of {done.seen:,} messages re-encrypted under the first key "
        f"({done.seen - done.rotated - len(done.unreadable or []):,} were already), "
        f"{done.others:,} queued or reported copies too."
    )
    if done.unreadable:
        shown = ", ".join(f"#{i}" for i in done.unreadable[:20])
        print(f"{len(done.unreadable):,} messages no key opens were left as they are: {shown}")
    else:
        print("Every message opens with the first key now: the old keys can be dropped.")


async def console(settings: Settings) -> None:
    logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    db = await open_database(settings)
    await check_keys(db, start_cipher(settings))
    clock_file = settings.data_dir / CLOCK_FILE
    clock = FakeClock(restore_clock(clock_file, SystemClock().now()))
    planner = settings.planner()
    web_url = settings.web_url(console=True)
    deps = Deps(db, clock, planner=planner, operators=settings.operator_ids(), web_url=web_url)
    repl = Console(
        deps,
        clock,
        color=sys.stdout.isatty(),
        image_dir=settings.data_dir / "images",
        file_dir=settings.data_dir / "files",
        clock_file=clock_file,
    )
    from scheduler.console import ConsoleScheduler

    # :time runs the ticks for the time passed; queued messages print as "[to <name>]".
    delivery = ConsoleScheduler(repl, db, clock)
    deps.doorbell.listen(delivery.dispatcher.wake)  # a /dm prints for its reader at once
    background = asyncio.create_task(delivery.background())
    web_task = None
    if web_url and settings.web_port:
        from bots.web.app import serve_web, web_app

        # Only this machine: the console's user is whoever types, with no login of their own.
        web_task = asyncio.create_task(
            serve_web(web_app(deps), "127.0.0.1", settings.web_port, web_url)
        )
        print(f"Web companion: {web_url} (send /app for a login link)")
    try:
        await repl.run()
    finally:
        background.cancel()
        if web_task is not None:
            web_task.cancel()
        await asyncio.gather(background, *([web_task] if web_task else []), return_exceptions=True)
        await delivery.dispatcher.close()
        if planner is not None:
            await planner.close()
        await db.dispose()


async def run(settings: Settings) -> None:
    if not (settings.telegram_bot_token or settings.discord_bot_token):
        log.info("No TELEGRAM_BOT_TOKEN or DISCORD_BOT_TOKEN set: starting the console.")
        await console(settings)
        return
    for secret_setting in settings.secrets():
        hide_in_logs(secret_setting)
    db = await open_database(settings)
    await check_keys(db, start_cipher(settings, say=False))
    planner = settings.planner()
    deps = Deps(
        db,
        SystemClock(),
        button_key=settings.button_key(),
        planner=planner,
        operators=settings.operator_ids(),
        web_url=settings.web_url(),
    )
    services: dict[str, Coroutine[Any, Any, None]] = {}  # name -> runs until cancelled
    notifiers: dict[str, Notifier] = {}  # platform -> how the outbox reaches its chats
    closers: list[Callable[[], Awaitable[None]]] = [planner.close] if planner else []
    tokens = {"telegram": settings.telegram_bot_token, "discord": settings.discord_bot_token}
    limiters = send_limiters(settings, [platform for platform, t in tokens.items() if t])
    # The web companion shares the Telegram webhook's server when it listens on that port.
    web_on_webhook = bool(
        deps.web_url
        and settings.telegram_bot_token
        and settings.webhook_url
        and settings.web_port in (None, settings.webhook_port)
    )
    if settings.telegram_bot_token:
        from bots.telegram.app import TelegramBot

        token = settings.telegram_bot_token.get_secret_value()
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)  # a line per update
        telegram = TelegramBot(
            deps, token, settings.telegram_api_base, limiter=limiters["telegram"]
        )
        notifiers[telegram.notifier.platform] = telegram.notifier
        closers.append(telegram.close)
        if settings.webhook_url:
            services["telegram"] = telegram.serve(
                settings.webhook_url, secret, settings.webhook_host, settings.webhook_port,
                web=web_companion(deps, settings) if web_on_webhook else None,
            )
        else:
            services["telegram"] = telegram.poll()
    if settings.discord_bot_token:
        from bots.discord.app import create_client, serve

        discord_bot = create_client(
            deps,
            dev_guild=settings.discord_dev_guild,
            shard_count=settings.discord_shard_count,
            shard_ids=settings.discord_shard_ids,
            api_base=settings.discord_api_base,
            limiter=limiters["discord"],
        )
        notifiers[discord_bot.notifier.platform] = discord_bot.notifier
        services["discord"] = serve(discord_bot, settings.discord_bot_token.get_secret_value())
    if deps.web_url and not web_on_webhook:
        from bots.web.app import serve_web

        services["web"] = serve_web(
            web_companion(deps, settings), settings.web_host, settings.web_port or 8080,
            deps.web_url,
        )
    platforms = [
        f"telegram ({'webhook' if settings.webhook_url else 'long polling'})"
        if p == "telegram"
        else p
        for p in services
    ]
    log.info("Platforms: %s.", ", ".join(platforms))
    from scheduler.runner import serve as serve_scheduler

    # Ticks (reminders, nudges, challenges, digests) and one outbox dispatcher per platform.
    services["scheduler"] = serve_scheduler(
        db,
        deps.clock,
        notifiers.values(),
        tick_seconds=settings.tick_seconds,
        limiters=limiters,
        doorbell=deps.doorbell,
    )
    settle()
    try:
        await serve_until_stopped(services)
    finally:
        for close in closers:
            await close()
        await db.dispose()


def web_companion(deps: Deps, settings: Settings) -> Any:
    """The web companion's aiohttp application; Mini App sign-in needs the Telegram token."""
    from bots.web.app import web_app

    token = settings.telegram_bot_token
    return web_app(deps, telegram_token=token.get_secret_value() if token else None)


def send_limiters(settings: Settings, platforms: list[str]) -> dict[str, Limiter]:
    """Per platform, the pacing of this process's sends: the outbox dispatcher and the
    adapter's direct replies share it. With REDIS_URL it also fits the send budget of the bot
    token, shared with every other process sending with that token."""
    tokens = {"telegram": settings.telegram_bot_token, "discord": settings.discord_bot_token}
    limiters: dict[str, Limiter] = {}
    for platform in platforms:
        token = tokens.get(platform)
        shared = None
        if settings.redis_url and token is not None:
            budget = budget_id(platform, token.get_secret_value())
            shared = SharedBudget(settings.redis_url, limits_for(platform), budget)
        limiters[platform] = Limiter(limits_for(platform), shared=shared)
    if settings.redis_url:
        log.info("Send budgets shared through Redis for %s", ", ".join(limiters) or "nothing")
    return limiters


def settle() -> None:
    """Start-up is over: what exists now (modules, models, the registry) lives as long as the
    process, so the garbage collector stops scanning it. A burst of updates otherwise sets off
    full collections that walk all of it again and again (bench/updates.py, concurrent
    batches: about a third more check-ins/s)."""
    gc.collect()
    gc.freeze()


async def serve_until_stopped(services: dict[str, Coroutine[Any, Any, None]]) -> None:
    """Run the services side by side until SIGINT/SIGTERM, or until one of them fails."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    tasks = {asyncio.create_task(coro, name=name): name for name, coro in services.items()}
    stopper = asyncio.create_task(stop.wait())
    failed = False
    try:
        done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopper and not task.cancelled() and task.exception() is not None:
                log.error("%s stopped", tasks[task], exc_info=task.exception())
                failed = True
    finally:
        for task in [*tasks, stopper]:
            task.cancel()
        await asyncio.gather(*tasks, stopper, return_exceptions=True)
        for sig in signals:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
    log.info("Stopped.")
    if failed:
        raise SystemExit(1)
