"""Telegram updates taken in durably, by long polling or webhook.

Telegram forgets an update once told it arrived: polling confirms everything below the next
getUpdates offset, a webhook once it answers 200. So the next offset is asked for, or the 200
given, only when each update of the batch is answered (its reply recorded with its effects; see
bots/answers.py) or, if it is still being worked on after `settle_after` seconds, held in the
database (core/intake.py) for a replay should this process die. aiogram's own polling confirms a
batch before its handlers have run, so it is not used.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Iterable
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import GetUpdates
from aiogram.types import Update
from aiohttp import web

from bots.commands import Deps
from core.intake import held, hold, release

log = logging.getLogger("habitbot.telegram")

PLATFORM = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Intake:
    def __init__(self, dp: Dispatcher, bot: Bot, deps: Deps, *, settle_after: float = 2.0) -> None:
        self.dp, self.bot, self.deps = dp, bot, deps
        self.settle_after = settle_after
        self.tasks: set[asyncio.Task[Any]] = set()
        self._updates: dict[asyncio.Task[Any], Update] = {}
        self._held: set[str] = set()
        self._closed = False
        self._fetch: asyncio.Future[Any] | None = None

    # ------------------------------------------------------------------ taking updates in
    async def take(self, updates: Iterable[Update]) -> None:
        """Feed the updates to the dispatcher; return once each is answered or held."""
        running = [self._start(update) for update in updates]
        if not running:
            return
        _, slow = await asyncio.wait(running, timeout=self.settle_after)
        slow_updates = {t: self._updates[t] for t in slow}
        if slow_updates:
            payloads = [
                (str(u.update_id), u.model_dump(mode="json", exclude_none=True))
                for u in slow_updates.values()
            ]
            async with self.deps.db.session() as session:
                await hold(session, PLATFORM, payloads, self.deps.clock.now())
            self._held.update(key for key, _ in payloads)
            for task, update in slow_updates.items():
                if task.done():  # it finished while we were writing it down
                    await self._release(str(update.update_id))

    def _start(self, update: Update) -> asyncio.Task[Any]:
        task = asyncio.create_task(self._feed(update))
        self._updates[task] = update
        self.tasks.add(task)
        task.add_done_callback(self._forget)
        return task

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        self._updates.pop(task, None)

    async def _feed(self, update: Update) -> None:
        try:
            await self.dp.feed_update(self.bot, update)
        finally:
            key = str(update.update_id)
            if key in self._held:
                await asyncio.shield(self._release(key))

    async def _release(self, key: str) -> None:
        if key not in self._held:
            return
        self._held.discard(key)
        try:
            async with self.deps.db.session() as session:
                await release(session, PLATFORM, [key])
        except Exception:  # the replay after a restart finds it answered and drops it
            log.exception("could not release held update %s", key)

    async def replay(self) -> int:
        """At start: updates a previous process held and never finished. Answered ones are
        recognised by their recorded answer and change nothing."""
        async with self.deps.db.session() as session:
            payloads = await held(session, PLATFORM)
        if not payloads:
            return 0
        log.info("Telegram: replaying %d update(s) a previous run left unanswered", len(payloads))
        updates = [Update.model_validate(p, context={"bot": self.bot}) for p in payloads]
        self._held.update(str(u.update_id) for u in updates)
        await self.take(updates)
        return len(updates)

    # ------------------------------------------------------------------ long polling
    async def poll(self, allowed_updates: list[str], timeout: int = 30) -> None:
        """getUpdates until stop(); the offset confirms a batch only once it is taken in. A
        batch being taken in when stop() comes is finished first."""
        request = GetUpdates(timeout=timeout, allowed_updates=allowed_updates)
        request_timeout = int((self.bot.session.timeout or 60) + timeout)
        failures = 0
        try:
            while not self._closed:
                self._fetch = asyncio.ensure_future(
                    self.bot(request, request_timeout=request_timeout)
                )
                try:
                    updates = await self._fetch
                except asyncio.CancelledError:
                    if self._closed:
                        break
                    raise
                except Exception as error:
                    failures += 1
                    delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                    log.warning(
                        "Telegram: getUpdates failed (%s); again in %.0f s",
                        type(error).__name__,
                        delay,
                    )
                    self._fetch = asyncio.ensure_future(asyncio.sleep(delay))
                    try:
                        await self._fetch
                    except asyncio.CancelledError:
                        if not self._closed:
                            raise
                    continue
                failures = 0
                if updates:
                    await self.take(updates)
                    request.offset = updates[-1].update_id + 1
        finally:
            if request.offset is not None:
                await asyncio.shield(self._confirm(request.offset))

    async def _confirm(self, offset: int) -> None:
        """Stopping: tell Telegram what was taken in, so a restart is not handed it again."""
        try:
            await self.bot(GetUpdates(offset=offset, limit=1, timeout=0), request_timeout=5)
        except Exception as error:  # a restart is handed the batch again and finds it answered
            log.warning("Telegram: could not confirm the last updates (%s)", type(error).__name__)

    # ------------------------------------------------------------------ webhook
    def webhook_handler(self, secret: str) -> Any:
        expected = secret.encode()

        async def handle(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "").encode()
            if not hmac.compare_digest(given, expected):
                return web.Response(status=401)
            if self._closed:
                return web.Response(status=503)  # Telegram delivers it again later
            try:
                update = Update.model_validate(await request.json(), context={"bot": self.bot})
            except ValueError:
                return web.Response(status=400)
            await self.take([update])
            return web.json_response({})

        return handle

    # ------------------------------------------------------------------ stopping
    def stop(self) -> None:
        """Take nothing more in: polling ends after the batch in hand, a webhook answers 503
        (Telegram delivers again later, to this process after a restart or to another)."""
        self._closed = True
        if self._fetch is not None:
            self._fetch.cancel()

    async def drain(self, grace: float) -> None:
        """Let updates in progress finish and send their replies, for at most `grace` s."""
        self.stop()
        pending = set(self.tasks)
        if not pending:
            return
        log.info("Telegram: finishing %d update(s) in progress", len(pending))
        _, late = await asyncio.wait(pending, timeout=grace)
        if late:
            # Their replies are recorded or their updates held: the next start sends/replays.
            log.warning(
                "Telegram: %d update(s) still in progress after %.0f s; stopping them",
                len(late),
                grace,
            )
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
