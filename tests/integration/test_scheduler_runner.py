"""`habitbot run`'s scheduler service: APScheduler runs the ticks, dispatchers deliver, and a
plugged-in tick (the challenges' kind of hook) runs alongside the built-in ones."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from sqlalchemy import update

from core.clock import SystemClock
from core.storage.db import Database
from core.storage.models import Habit
from scheduler.runner import Scheduler, serve
from scheduler.ticks import Tick, default_ticks
from tests.conftest import Say
from tests.fakes import RecordingNotifier


async def test_serve_ticks_and_delivers_until_cancelled(db: Database, say: Say) -> None:
    await say("/habit add Read remind=07:30", user="ann")
    due = SystemClock().now().replace(second=0, microsecond=0)
    async with db.session() as session:  # due this very minute, in real time
        await session.execute(
            update(Habit).values(remind_at=f"{due:%H:%M}", next_reminder_at=due)
        )
    seen: list[datetime] = []

    async def plugged(db: Database, at: datetime) -> int:  # e.g. the challenges' lifecycle tick
        seen.append(at)
        return 0

    notifier = RecordingNotifier()
    delivered = asyncio.Event()
    notifier.before_send = lambda chat, reply: delivered.set()
    service = asyncio.create_task(
        serve(db, SystemClock(), [notifier], ticks=[*default_ticks(), plugged], tick_seconds=1)
    )
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(delivered.wait(), 10)
    service.cancel()
    await asyncio.gather(service, return_exceptions=True)
    assert [s.chat for s in notifier.sent] == ["ann"]
    assert notifier.sent[0].text.startswith(f"⏰ Time for Read ({due:%H:%M})")
    assert seen, "the plugged-in tick ran"


async def test_a_failing_tick_does_not_stop_the_others(db: Database, say: Say) -> None:
    await say("/habit add Read remind=09:30", user="ann")  # the clock fixture: 09:00 UTC

    async def broken(db: Database, at: datetime) -> int:
        raise RuntimeError("boom")

    ticks = [Tick("broken", broken), *default_ticks()]
    at = datetime.fromisoformat("2026-03-02T09:30:00+00:00")
    results = await Scheduler(db, SystemClock(), ticks).tick(at)
    assert "broken" not in results and results["reminders"] == 1
