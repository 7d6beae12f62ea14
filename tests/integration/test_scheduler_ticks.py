"""The ticks against the database: due rows are found through their index, enqueued once however
often or however concurrently the tick runs, and stale ones after downtime are skipped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from core.clock import FakeClock
from core.storage.db import Database
from core.storage.models import Habit, Outbox
from scheduler.dispatcher import Dispatcher
from scheduler.limits import UNLIMITED
from scheduler.runner import Scheduler
from scheduler.ticks import nudges, reminders
from tests.conftest import Say
from tests.fakes import RecordingNotifier


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def rows(db: Database) -> list[Outbox]:
    async with db.session() as session:
        return list(await session.scalars(select(Outbox).order_by(Outbox.id)))


async def test_the_same_tick_twice_queues_and_sends_once(
    db: Database, clock: FakeClock, say: Say
) -> None:
    for user in ("ann", "bob", "cat"):
        await say("/habit add Read remind=09:30", user=user)
    at = utc("2026-03-02T09:30")
    scheduler = Scheduler(db, clock)
    await scheduler.tick(at)
    await scheduler.tick(at)
    await scheduler.tick(at + timedelta(seconds=30))
    assert [r.dedupe_key for r in await rows(db)] == [
        f"reminder:{i}:2026-03-02:09:30" for i in (1, 2, 3)
    ]
    notifier = RecordingNotifier()
    clock.set(at)
    await Dispatcher(db, notifier, clock, UNLIMITED).drain()
    await Dispatcher(db, notifier, clock, UNLIMITED).drain()
    assert sorted(s.chat for s in notifier.sent) == ["ann", "bob", "cat"]


async def test_overlapping_ticks_from_two_processes_queue_once(
    db: Database, clock: FakeClock, say: Say
) -> None:
    for n in range(30):
        await say(f"/habit add Read remind=09:{n + 1:02d}", user=f"user{n}")
    other = Database(db.url)  # a second process: its own engine and connections
    try:
        at = utc("2026-03-02T09:45")
        results = await asyncio.gather(
            Scheduler(db, clock).tick(at), Scheduler(other, clock).tick(at),
            Scheduler(db, clock).tick(at),
        )
    finally:
        await other.dispose()
    queued = await rows(db)
    assert len(queued) == 30 and len({r.dedupe_key for r in queued}) == 30
    assert sum(int(r["reminders"]) for r in results) == 30  # type: ignore[call-overload]
    async with db.session() as session:
        nexts = set(await session.scalars(select(Habit.next_reminder_at)))
    assert all(n is not None and n > at for n in nexts)  # every habit moved to tomorrow


async def test_after_downtime_stale_reminders_are_skipped_not_burst(
    db: Database, clock: FakeClock, say: Say
) -> None:
    await say("/habit add Read remind=10:00,20:00")  # Monday 09:00 UTC
    await say("/habit add Walk remind=09:30")
    # The bot was down from Monday 09:00 until Tuesday 09:45: the clock jumps a day.
    assert await reminders(db, utc("2026-03-03T09:45")) == 1
    [row] = await rows(db)  # only Walk's 09:30 is within the hour; the rest was stale
    assert row.dedupe_key == "reminder:2:2026-03-03:09:30"
    async with db.session() as session:
        read = await session.get_one(Habit, 1)
    assert read.next_reminder_at == utc("2026-03-03T10:00")  # back on schedule


async def test_a_queued_reminder_goes_stale_if_delivery_was_down(
    db: Database, clock: FakeClock, say: Say
) -> None:
    await say("/habit add Read remind=09:30")
    await reminders(db, utc("2026-03-02T09:30"))
    clock.set(utc("2026-03-02T11:00"))  # the dispatcher only comes back 90 minutes later
    notifier = RecordingNotifier()
    await Dispatcher(db, notifier, clock, UNLIMITED).drain()
    [row] = await rows(db)
    assert notifier.sent == [] and (row.status, row.error) == ("failed", "skipped: stale")


async def test_removed_habit_reminder_is_not_sent(
    db: Database, clock: FakeClock, say: Say
) -> None:
    await say("/habit add Read remind=09:30")
    await reminders(db, utc("2026-03-02T09:30"))
    await say.confirmed("/habit remove Read")
    clock.set(utc("2026-03-02T09:31"))
    notifier = RecordingNotifier()
    await Dispatcher(db, notifier, clock, UNLIMITED).drain()
    [row] = await rows(db)
    assert notifier.sent == [] and row.error == "skipped: habit removed"


async def test_measurable_habit_is_reminded_until_the_target_is_met(
    db: Database, clock: FakeClock, say: Say
) -> None:
    await say("/habit add Read remind=09:30,18:00 target=20 unit=pages")
    await say("/done Read 5")
    await reminders(db, utc("2026-03-02T09:30"))
    [row] = await rows(db)
    assert row.data["target"] == 20 and row.data["unit"] == "pages"
    await say("/done Read 15")
    await reminders(db, utc("2026-03-02T18:00"))
    assert len(await rows(db)) == 1  # 20/20: the evening one is not queued


async def test_nudges_are_armed_once_and_sent_once_a_day(
    db: Database, clock: FakeClock, say: Say
) -> None:
    await say("/habit add Read", user="ann")
    await say("/done Read", user="ann")
    await say("/habit add Run", user="bob")  # no streak: no nudge
    await nudges(db, clock.now())  # arms both for 20:00 UTC
    for minute in (0, 0, 1):
        await nudges(db, utc("2026-03-02T20:00") + timedelta(minutes=minute))
    assert [r.dedupe_key for r in await rows(db)] == ["nudge:1:2026-03-02"]


async def test_due_query_uses_the_index(db: Database) -> None:
    """The tick's cost follows what is due, not how many habits exist."""
    if db.dialect != "sqlite":  # PostgreSQL picks plans from statistics; see bench/
        return
    async with db.session() as session:
        plan = (
            await session.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT habits.id FROM habits JOIN users"
                    " ON users.id = habits.user_id WHERE habits.next_reminder_at <= :now"
                    " ORDER BY habits.next_reminder_at LIMIT 500"
                ),
                {"now": "2026-03-02 09:00:00"},
            )
        ).all()
    assert any("ix_habits_next_reminder_at" in str(row) for row in plan), plan
