"""Running the ticks and dispatchers.

In the bot process an APScheduler 3.x AsyncIOScheduler runs the ticks as one short interval job
(there is no job per user or habit), and a dispatcher per platform drains the outbox. On
PostgreSQL several processes may run all of this at once: ticks lock due rows with SKIP LOCKED
and dedupe keys make a double enqueue a no-op; dispatchers lease what they claim.

The console has no wall clock to wait for: `Scheduler.travel` steps its fake clock from one due
instant to the next and runs the ticks and the dispatcher at each.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bots.notify import Notifier
from core.clock import Clock
from core.delivery import next_pending_at
from core.outbox import Doorbell
from core.storage.db import Database
from scheduler.dispatcher import Dispatcher
from scheduler.limits import Limiter, PlatformLimits
from scheduler.ticks import RunFn, Tick, default_ticks

log = logging.getLogger("habitbot.scheduler")

TickLike = Tick | RunFn
MAX_STEP = timedelta(minutes=15)  # time travel's step when some tick cannot say when it is due


def as_tick(tick: TickLike) -> Tick:
    if isinstance(tick, Tick):
        return tick
    return Tick(getattr(tick, "__name__", type(tick).__name__), tick)


class Scheduler:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        ticks: Sequence[TickLike] | None = None,
        *,
        on_queued: Callable[[], None] | None = None,
        max_step: timedelta = MAX_STEP,
    ) -> None:
        self.db, self.clock = db, clock
        self.ticks = [as_tick(t) for t in (default_ticks() if ticks is None else ticks)]
        self.on_queued = on_queued
        self.max_step = max_step
        self._lock = asyncio.Lock()
        self._closed = False

    async def tick(self, now: datetime | None = None) -> dict[str, object]:
        """Run every tick once. One failing tick is logged and does not stop the others."""
        async with self._lock:  # no overlap inside a process; across processes the DB copes
            if self._closed:
                return {}
            now = now or self.clock.now()
            results: dict[str, object] = {}
            for tick in self.ticks:
                try:
                    results[tick.name] = await tick.run(self.db, now)
                except Exception:
                    log.exception("tick %s failed", tick.name)
            if self.on_queued is not None:
                self.on_queued()
            return results

    async def close(self) -> None:
        """Run no more ticks; wait for one in progress to finish its transaction."""
        self._closed = True
        async with self._lock:
            pass

    async def next_due(self, after: datetime) -> tuple[datetime | None, bool]:
        """The earliest instant after `after` when a tick or a held-back outbox row has work,
        and whether some tick could not tell (then callers step at most `max_step`)."""
        found: list[datetime] = []
        unknown = False
        for tick in self.ticks:
            if tick.next_due is None:
                unknown = True
                continue
            due = await tick.next_due(self.db, after)
            if due is not None:
                found.append(due)
        async with self.db.session() as session:
            pending = await next_pending_at(session, after)
        if pending is not None:
            found.append(pending)
        return (min(found) if found else None), unknown

    async def travel(self, target: datetime, step: Callable[[datetime], Awaitable[None]]) -> int:
        """Move from the clock's now to `target` through every due instant, calling `step(t)`
        (which sets the clock, runs the ticks and delivers) at each. Returns the step count."""
        now = self.clock.now()
        await step(now)  # whatever is due already
        steps = 1
        while now < target:
            due, unknown = await self.next_due(now)
            candidates = [target]
            if due is not None:
                candidates.append(due)
            if unknown:
                candidates.append(now + self.max_step)
            now = min(candidates)
            await step(now)
            steps += 1
        return steps


def dispatchers_for(
    db: Database,
    clock: Clock,
    notifiers: Iterable[Notifier],
    limits: Mapping[str, PlatformLimits] | None = None,
    limiters: Mapping[str, Limiter] | None = None,
) -> list[Dispatcher]:
    return [
        Dispatcher(
            db, n, clock, (limits or {}).get(n.platform), limiter=(limiters or {}).get(n.platform)
        )
        for n in notifiers
    ]


async def serve(
    db: Database,
    clock: Clock,
    notifiers: Iterable[Notifier],
    *,
    ticks: Sequence[TickLike] | None = None,
    tick_seconds: float = 30,
    limits: Mapping[str, PlatformLimits] | None = None,
    limiters: Mapping[str, Limiter] | None = None,
    doorbell: Doorbell | None = None,
) -> None:
    """The scheduler service of `habitbot run`: ticks every `tick_seconds` and one dispatcher
    per notifier, until cancelled. `limiters`: per platform, the pacing the dispatcher shares
    with the adapter's direct replies (and, through Redis, with other processes)."""
    dispatchers = dispatchers_for(db, clock, notifiers, limits, limiters)

    def wake() -> None:  # what a tick queued goes out now, not at the next poll
        for dispatcher in dispatchers:
            dispatcher.wake()

    scheduler = Scheduler(db, clock, ticks, on_queued=wake)
    if doorbell is not None:  # and what a command queued to send at once (a relayed DM)
        doorbell.listen(wake)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # a line per run otherwise
    jobs = AsyncIOScheduler(timezone=UTC)
    jobs.add_job(
        scheduler.tick,
        "interval",
        seconds=tick_seconds,
        id="ticks",
        max_instances=1,  # a slow tick is not run twice at once; the next one catches up
        coalesce=True,
        misfire_grace_time=max(1, int(tick_seconds)),
        next_run_time=datetime.now(UTC),
    )
    jobs.start()
    tasks = [asyncio.create_task(d.run(), name=f"outbox:{d.platform}") for d in dispatchers]
    log.info(
        "Scheduler: ticks every %ss (%s); delivering to %s",
        tick_seconds,
        ", ".join(t.name for t in scheduler.ticks),
        ", ".join(d.platform for d in dispatchers) or "nobody",
    )
    try:
        await asyncio.gather(*tasks) if tasks else await asyncio.Event().wait()
    finally:
        jobs.shutdown(wait=False)
        await asyncio.shield(scheduler.close())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for dispatcher in dispatchers:  # what was sent gets written down before we exit
            await dispatcher.close()
        for limiter in (limiters or {}).values():
            if limiter.shared is not None:
                await limiter.shared.close()
