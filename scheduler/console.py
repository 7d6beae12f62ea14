"""The scheduler in the console: `:time` travel runs the ticks and delivery for the time
passed, stopping at every due instant, so reminders print at their local times."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bots.console.notifier import ConsoleNotifier
from bots.console.repl import Console
from core.clock import FakeClock
from core.storage.db import Database
from scheduler.dispatcher import Dispatcher
from scheduler.limits import UNLIMITED
from scheduler.runner import Scheduler, TickLike


class ConsoleScheduler:
    def __init__(
        self,
        console: Console,
        db: Database,
        clock: FakeClock,
        ticks: Sequence[TickLike] | None = None,
    ) -> None:
        self.console, self.clock = console, clock
        self.notifier = ConsoleNotifier(console)
        self.dispatcher = Dispatcher(db, self.notifier, clock, UNLIMITED, poll=0.5)
        self.scheduler = Scheduler(db, clock, ticks)
        console.on_time = self.travel

    async def travel(self, target: datetime) -> None:
        await self.scheduler.travel(target, self.step)

    async def step(self, at: datetime) -> None:
        self.clock.set(at)
        self.notifier.stamp = f"-- {at:%a %Y-%m-%d %H:%M} UTC --"
        await self.scheduler.tick(at)
        await self.dispatcher.drain()
        self.notifier.stamp = None

    async def background(self) -> None:
        """Deliver what commands queue between time jumps (relayed messages, announcements)."""
        await self.dispatcher.run()
