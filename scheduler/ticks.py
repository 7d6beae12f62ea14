"""The periodic ticks. Each asks core what is due, in batches of one transaction each, and
returns how much it queued. None holds a job per user; they all run every few seconds.

A tick is any `async def tick(db, now)`; wrap it in `Tick` to give it a name and, optionally,
`next_due(db, after)` — the next instant it has work — which lets the console's time travel jump
straight there instead of stepping in small increments.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.challenges.calendar import local_midnight
from core.challenges.lifecycle import lifecycle_tick
from core.delivery import prune
from core.groups.digest import digest_tick
from core.reminders import BATCH, TickResult, enqueue_due_nudges, enqueue_due_reminders
from core.rewards import freeze_tick
from core.storage.db import Database
from core.storage.models import Challenge, Group, Habit, User

RunFn = Callable[[Database, datetime], Awaitable[object]]
NextDueFn = Callable[[Database, datetime], Awaitable[datetime | None]]
MAX_BATCHES = 200  # per tick; whatever is left waits for the next tick


@dataclass(frozen=True)
class Tick:
    name: str
    run: RunFn
    next_due: NextDueFn | None = None


async def _batches(
    db: Database, now: datetime, step: Callable[[AsyncSession, datetime], Awaitable[TickResult]]
) -> int:
    queued = 0
    for _ in range(MAX_BATCHES):
        async with db.session() as session:  # one transaction per batch
            result = await step(session, now)
        queued += result.queued
        if not result.more:
            break
        await asyncio.sleep(0)  # embedded SQLite runs on the loop: let commands in between
    return queued


async def reminders(db: Database, now: datetime) -> int:
    return await _batches(db, now, lambda s, n: enqueue_due_reminders(s, n, BATCH))


async def nudges(db: Database, now: datetime) -> int:
    return await _batches(db, now, lambda s, n: enqueue_due_nudges(s, n, BATCH))


async def _min_after(db: Database, column: Any, after: datetime) -> datetime | None:
    async with db.session() as session:
        found: datetime | None = await session.scalar(
            select(func.min(column)).where(column > after)
        )
        return found


async def never_due(db: Database, after: datetime) -> datetime | None:
    """For housekeeping: nothing a user waits for, so time travel need not stop for it."""
    return None


async def reminders_next(db: Database, after: datetime) -> datetime | None:
    return await _min_after(db, Habit.next_reminder_at, after)


async def nudges_next(db: Database, after: datetime) -> datetime | None:
    return await _min_after(db, User.next_nudge_at, after)


def session_tick(
    fn: Callable[[AsyncSession, datetime], Awaitable[int]], batch: int
) -> RunFn:
    """Adapt a core `async def fn(session, now) -> touched` that handles up to `batch` rows per
    call: call it, one transaction each, until it comes back short."""

    async def run(db: Database, now: datetime) -> int:
        total = 0
        for _ in range(MAX_BATCHES):
            async with db.session() as session:
                touched = await fn(session, now)
            total += touched
            if touched < batch:
                break
        return total

    return run


async def challenges_next(db: Database, after: datetime) -> datetime | None:
    """A start, a last day (local midnight of the end date) or an end after `after`."""
    async with db.session() as session:
        rows = await session.execute(
            select(Challenge.status, Challenge.starts_at, Challenge.ends_at, Challenge.end_date,
                   Challenge.timezone)
            .where(Challenge.status.in_(("scheduled", "active")), Challenge.ends_at > after)
        )
        found = []
        for status, starts_at, ends_at, end_date, tz in rows:
            found += [ends_at, local_midnight(end_date, tz)]
            if status == "scheduled":
                found.append(starts_at)
    later = [t for t in found if t > after]
    return min(later) if later else None


async def freezes_next(db: Database, after: datetime) -> datetime | None:
    return await _min_after(db, User.next_freeze_at, after)


async def digests_next(db: Database, after: datetime) -> datetime | None:
    return await _min_after(db, Group.next_digest_at, after)


class Every:
    """Run a housekeeping tick at most once per `period` (per process)."""

    def __init__(self, period: timedelta, fn: RunFn) -> None:
        self.period, self.fn = period, fn
        self.last: datetime | None = None

    async def __call__(self, db: Database, now: datetime) -> object:
        if self.last is not None and now - self.last < self.period:
            return 0
        self.last = now
        return await self.fn(db, now)


async def prune_outbox(db: Database, now: datetime) -> int:
    async with db.session() as session:
        return await prune(session, now)


def default_ticks() -> list[Tick]:
    """A fresh list (Every keeps state): reminders, nudges, the challenges' lifecycle, group
    digests, streak freezes after local midnight, and outbox housekeeping. More can be
    appended by whoever wires the app."""
    return [
        Tick("reminders", reminders, reminders_next),
        Tick("nudges", nudges, nudges_next),
        Tick("challenges", session_tick(lifecycle_tick, 50), challenges_next),
        Tick("digests", session_tick(digest_tick, 100), digests_next),
        Tick(
            "freezes",
            session_tick(freeze_tick.freeze_tick, freeze_tick.BATCH),
            freezes_next,
        ),
        Tick("prune", Every(timedelta(hours=1), prune_outbox), never_due),
    ]
