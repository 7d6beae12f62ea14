"""The outbox drainer: one per platform, sending through that platform's Notifier.

A batch is claimed (leased) from the outbox, split per chat, and each chat's rows are sent in
order within the platform's limits; how each send ended is written back at once, so a crash loses
at most the sends in flight. Outcomes:
- sent -> `sent`;
- rate_limited -> the chat (or everything, if the platform says the limit is global) waits out
  retry_after exactly, and the row goes back unsent with not_before = now + retry_after;
- transient (5xx, timeout, unknown error) -> retried with capped exponential backoff for as long
  as the message is useful (core.delivery.useful_until), then failed;
- permanent -> failed; for chat-level refusals (blocked, kicked, chat gone) the account or group
  becomes unreachable and the chat's waiting rows close unsent;
- unauthorized (the token refused) -> the row goes back unsent, and the platform pauses.
Many transient failures in a row pause the platform too (scheduler/breaker.py): while paused,
one row at a time goes out as a probe, and rows that fail then keep their attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, TypeVar

import bots.commands  # noqa: F401  (registers every command module's renderers)
import core.reminders  # noqa: F401  (registers the reminder/nudge obsolescence checks)
from bots.notifications import RENDERERS, render
from bots.notify import DeliveryError, Notifier, Progress
from core.clock import Clock
from core.delivery import (
    LEASE,
    Claimed,
    claim,
    defer,
    keep_lease,
    mark_failed,
    mark_sent,
    mark_unreachable,
    release,
    retry_later,
)
from core.storage.db import Database
from scheduler.breaker import Breaker
from scheduler.limits import Limiter, PlatformLimits, SharedBudget, limits_for

log = logging.getLogger("habitbot.dispatcher")
T = TypeVar("T")

# A permanent error about the message itself (a rendering bug), not about the chat: the row
# fails but the chat stays reachable.
_MESSAGE_FAULT = re.compile(
    r"parse entities|too long|text is empty|button|reply_markup|invalid form body|"
    r"message to (?:edit|reply)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class RetryPolicy:
    base: float = 4.0  # seconds before the first retry; doubles: 4, 8, 16, 32 s ... up to cap
    cap: float = 300.0

    def delay(self, attempts: int) -> float:
        raw = min(self.cap, self.base * 2 ** max(0, attempts - 1))
        return raw * random.uniform(0.8, 1.0)  # spread retries of a failed burst


class _Paused(Exception):
    """The breaker opened while this send waited for its turn."""


class Dispatcher:
    def __init__(
        self,
        db: Database,
        notifier: Notifier,
        clock: Clock,
        limits: PlatformLimits | None = None,
        *,
        batch: int = 200,
        lease: timedelta = LEASE,
        concurrency: int = 16,
        hold: float = 2.0,
        send_timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        breaker: Breaker | None = None,
        shared: SharedBudget | None = None,
        limiter: Limiter | None = None,  # shared with direct replies (habitbot.app)
        poll: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.db, self.notifier, self.clock = db, notifier, clock
        self.platform = notifier.platform
        self.limits = limits if limits is not None else limits_for(self.platform)
        self.limiter = limiter or Limiter(self.limits, monotonic, sleep, shared)
        self.sleep = sleep
        self.lease, self.hold, self.send_timeout = lease, hold, send_timeout
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or Breaker(self.platform, monotonic=monotonic)
        self.poll = poll
        # Keep a batch well inside its lease: at the platform's pace it must finish in time.
        per_second = self.limits.per_second
        budget = int(per_second * lease.total_seconds() / 4) if per_second else batch
        self.batch = max(1, min(batch, budget))
        self._inflight = asyncio.Semaphore(concurrency)
        self._bookkeeping: set[asyncio.Task[Any]] = set()
        self._wake = asyncio.Event()
        self.stats: dict[str, int] = {"sent": 0, "retried": 0, "deferred": 0, "failed": 0}

    async def _shield(self, work: Coroutine[Any, Any, T]) -> T:
        """Run bookkeeping to its end even if this worker is being stopped (see close)."""
        task = asyncio.ensure_future(work)
        self._bookkeeping.add(task)
        task.add_done_callback(self._bookkeeping.discard)
        return await asyncio.shield(task)

    async def close(self) -> None:
        """After stopping the worker: wait until what was sent is written down."""
        while self._bookkeeping:
            await asyncio.gather(*self._bookkeeping, return_exceptions=True)

    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._wake.set()

    def _ready(self) -> bool:
        # A notifier may say it cannot send yet (a gateway still connecting): claiming rows
        # then would only burn their attempts.
        ready = getattr(self.notifier, "ready", None)
        return bool(ready()) if callable(ready) else True

    async def run_once(self) -> int:
        """Claim one batch and process it; returns how many rows were claimed for sending."""
        if not self._ready():
            return 0
        probe = self.breaker.paused  # one row at a time, to see whether the platform is back
        if probe:
            if self.breaker.probe_wait() > 0:
                return 0
            self.breaker.probing()
        limit = 1 if probe else self.batch
        async with self.db.session() as session:
            items = await claim(session, self.platform, self.clock.now(), limit, self.lease)
        if not items:
            return 0
        by_chat: dict[str, list[Claimed]] = {}
        for item in items:
            by_chat.setdefault(item.chat, []).append(item)
        started: set[int] = set()
        try:
            await asyncio.gather(
                *(self._chat(chat, rows, started, probe) for chat, rows in by_chat.items())
            )
        except asyncio.CancelledError:
            # Stopping mid-batch: rows never attempted go back at once. A send that was in
            # flight keeps its lease; whether the platform got it is unknowable, so it is
            # retried only after the lease ends.
            untouched = [i for i in items if i.id not in started]
            await self._shield(self._release(untouched))
            raise
        return len(items)

    async def _release(self, items: list[Claimed]) -> None:
        if items:
            async with self.db.session() as session:
                await release(session, items)

    async def drain(self, max_batches: int = 10_000) -> int:
        """Send everything that is due now (console, tests, benchmarks)."""
        total = 0
        for _ in range(max_batches):
            claimed = await self.run_once()
            if not claimed:
                break
            total += claimed
        return total

    async def run(self) -> None:
        """Drain forever, polling when idle. Errors are logged; the loop goes on."""
        while True:
            try:
                claimed = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s dispatcher batch failed", self.platform)
                claimed = 0
            if claimed:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll)

    async def _chat(
        self, chat: str, rows: list[Claimed], started: set[int], probe: bool = False
    ) -> None:
        """One chat's rows, in order, one at a time (its own limit is per chat anyway)."""
        for index, item in enumerate(rows):
            wait = max(self.limiter.chat_wait(chat), self.limiter.global_wait())
            if wait > self.hold:
                # Don't sit on leased rows: hand them back for when the chat is free again.
                await self._defer(rows[index:], wait, "waiting for the rate limit")
                return
            if wait:
                await self.sleep(wait)
            started.add(item.id)
            try:
                stop = await self._one(item, probe)
            except _Paused:  # the platform went down meanwhile: the rest waits, unattempted
                await self._release(rows[index:])
                return
            if isinstance(stop, str):  # the chat is gone: close the rest of it unsent
                for rest in rows[index + 1 :]:
                    await self._record(mark_failed, rest, f"chat unreachable: {stop}")
                return
            if stop is not None:
                await self._defer(rows[index + 1 :], stop, "waiting for the rate limit")
                return

    async def _one(self, item: Claimed, probe: bool = False) -> float | str | None:
        """Send one row and record the outcome. Returns seconds the chat must now wait (its
        remaining rows go back), a reason when the chat is gone for good, or None.

        Recording is shielded: a worker told to stop right after a send still writes it down,
        so a graceful restart never repeats a message."""
        if item.kind not in RENDERERS:
            await self._record(mark_failed, item, f"no renderer for kind {item.kind!r}")
            return None
        try:
            reply = render(item.kind, item.data)
        except Exception as error:
            log.exception("rendering outbox row %s (%s) failed", item.id, item.kind)
            await self._record(mark_failed, item, f"render error: {error!r}")
            return None
        progress = Progress(item.parts_sent)  # a retry sends only what did not arrive
        async with self._inflight:
            if self.breaker.paused and not probe:
                raise _Paused
            await self.limiter.acquire(item.chat)
            kept = await self._shield(self._keep(item))
            if kept is None:
                log.info("outbox row %s was taken over while it waited its turn", item.id)
                return None
            item = kept
            try:
                await asyncio.wait_for(
                    self.notifier.send(item.chat, reply, progress), self.send_timeout
                )
            except DeliveryError as error:
                return await self._shield(self._failed(item, error, progress.parts))
            except TimeoutError:
                failure = DeliveryError("transient", "timeout")
                return await self._shield(self._failed(item, failure, progress.parts))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a notifier bug: retry a few times, then give up
                log.exception("%s notifier raised on outbox row %s", self.platform, item.id)
                failure = DeliveryError("transient", repr(error))
                return await self._shield(self._failed(item, failure, progress.parts))
        self.breaker.answered()
        await self._shield(self._sent(item))
        return None

    async def _keep(self, item: Claimed) -> Claimed | None:
        """`item` with its lease extended if half of it is gone (its turn came late), or None
        when another worker took the row meanwhile."""
        now = self.clock.now()
        if item.lease - now > self.lease / 2:
            return item
        async with self.db.session() as session:
            until = await keep_lease(session, item.id, item.lease, now, self.lease)
        return replace(item, lease=until) if until is not None else None

    async def _sent(self, item: Claimed) -> None:
        self.stats["sent"] += 1
        async with self.db.session() as session:
            if not await mark_sent(session, item, self.clock.now()):
                log.warning("outbox row %s was sent after its lease ran out", item.id)

    async def _failed(
        self, item: Claimed, error: DeliveryError, parts_sent: int
    ) -> float | str | None:
        now = self.clock.now()
        if error.failure in ("transient", "unauthorized"):
            if error.failure == "unauthorized":
                self.breaker.refused(error.reason)
            else:
                self.breaker.failed(error.reason)
            if self.breaker.paused:
                # The platform is down or refuses us, which says nothing about this message:
                # it goes back unsent, without spending an attempt.
                self.stats["deferred"] += 1
                async with self.db.session() as session:
                    await defer(session, item, now, error.reason, parts_sent)
                return None
        else:
            self.breaker.answered()  # a 429 or a refused chat: the platform is up
        if error.failure == "rate_limited":
            seconds = max(0.0, float(error.retry_after or 1.0))
            if getattr(error, "scope", None) == "global":
                self.limiter.block_all(seconds)
            else:
                self.limiter.block_chat(item.chat, seconds)
            self.stats["deferred"] += 1
            async with self.db.session() as session:
                await defer(
                    session, item, now + timedelta(seconds=seconds), error.reason, parts_sent
                )
            return seconds
        if error.failure == "permanent":
            self.stats["failed"] += 1
            async with self.db.session() as session:
                await mark_failed(session, item, error.reason, now)
                if not _MESSAGE_FAULT.search(error.reason):
                    closed = await mark_unreachable(
                        session, self.platform, item.chat, error.reason, now
                    )
                    log.info("%s chat %s unreachable (%s); %d waiting rows closed",
                             self.platform, item.chat, error.reason, closed)
                    return error.reason
            return None
        delay = self.retry.delay(item.attempts + 1)
        async with self.db.session() as session:
            retried = await retry_later(
                session, item, error.reason, now + timedelta(seconds=delay), now, parts_sent
            )
        self.stats["retried" if retried else "failed"] += 1
        return None

    async def _record(
        self,
        mark: Callable[..., Awaitable[bool]],
        item: Claimed,
        reason: str,
    ) -> None:
        self.stats["failed"] += 1
        async with self.db.session() as session:
            await mark(session, item, reason, self.clock.now())

    async def _defer(self, rows: list[Claimed], seconds: float, reason: str) -> None:
        if not rows:
            return
        when = self.clock.now() + timedelta(seconds=seconds)
        async with self.db.session() as session:
            for item in rows:
                await defer(session, item, when, reason)
        self.stats["deferred"] += len(rows)
