"""The outbox dispatcher against platform faults, with a recording notifier and a fake clock:
every row ends sent once or failed with a reason, never twice, never silently dropped."""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bots.answers import OutboxAnswer, Receipts
from bots.notifications import renders
from bots.notify import DeliveryError
from bots.reply import Reply
from core.clock import FakeClock
from core.delivery import claim, register_useful_until
from core.outbox import enqueue
from core.storage.db import Database
from core.storage.models import Account, Group, Outbox
from scheduler.breaker import Breaker
from scheduler.dispatcher import Dispatcher, RetryPolicy
from scheduler.limits import UNLIMITED, Limiter, PlatformLimits
from tests.conftest import Say
from tests.fakes import RecordingNotifier


@renders("test_note")
@renders("test_brief")
def _note(data: dict[str, Any]) -> Reply:
    return Reply.text(data["text"])


BRIEF = timedelta(minutes=10)  # how long a test_brief row is worth sending
register_useful_until("test_brief", lambda data, queued: queued + BRIEF)


def dispatcher(
    db: Database,
    notifier: RecordingNotifier,
    clock: FakeClock,
    limits: PlatformLimits = UNLIMITED,
    **options: Any,
) -> Dispatcher:
    """A dispatcher living on the fake clock: its waits move the clock instead of sleeping."""

    async def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))
        await asyncio.sleep(0)

    options.setdefault("retry", RetryPolicy(base=1.0, cap=8.0))
    return Dispatcher(
        db, notifier, clock, limits,
        monotonic=lambda: clock.now().timestamp(), sleep=sleep, **options,
    )


async def queue(
    db: Database, clock: FakeClock, chat: str, *texts: str, platform: str = "console"
) -> None:
    async with db.session() as session:
        for text in texts:
            await enqueue(
                session, platform=platform, chat=chat, kind="test_note", data={"text": text},
                dedupe_key=f"test:{chat}:{text}", now=clock.now(),
            )


async def outbox(db: Database) -> list[Outbox]:
    async with db.session() as session:
        return list(await session.scalars(select(Outbox).order_by(Outbox.id)))


async def account(db: Database, name: str) -> Account:
    async with db.session() as session:
        found = await session.scalar(select(Account).where(Account.external_id == name))
        assert found is not None
        return found


def later(clock: FakeClock, seconds: float) -> None:
    clock.advance(timedelta(seconds=seconds))


async def test_rate_limited_chat_waits_exactly_retry_after(
    db: Database, clock: FakeClock
) -> None:
    notifier = RecordingNotifier(clock=clock)
    notifier.rate_limit(3.0, chat="ann")
    await queue(db, clock, "ann", "one", "two")
    await queue(db, clock, "bob", "hi bob")
    start = clock.now()
    worker = dispatcher(db, notifier, clock)
    await worker.drain()
    assert notifier.texts() == ["hi bob"]  # bob is not held up by ann's limit
    later(clock, 2.9)
    await worker.drain()
    assert [c for c, _ in notifier.attempts].count("ann") == 1  # not retried early
    later(clock, 0.1)
    await worker.drain()
    assert notifier.texts("ann") == ["one", "two"]
    ann_attempts = [at for chat, at in notifier.attempts if chat == "ann"]
    assert ann_attempts[1] == start + timedelta(seconds=3)
    assert {r.status for r in await outbox(db)} == {"sent"}
    assert {r.attempts for r in await outbox(db)} == {0}  # a 429 is about pace, not the message


async def test_global_rate_limit_holds_every_chat(db: Database, clock: FakeClock) -> None:
    notifier = RecordingNotifier(clock=clock)
    notifier.rate_limit(5.0, chat="ann", scope="global")
    await queue(db, clock, "ann", "a1")
    worker = dispatcher(db, notifier, clock)
    await worker.drain()
    await queue(db, clock, "bob", "b1")
    await worker.drain()
    assert notifier.sent == []  # bob waits too: the limit was for the whole bot
    later(clock, 5)
    await worker.drain()
    assert sorted(notifier.texts()) == ["a1", "b1"]


async def test_server_error_is_retried_with_backoff_then_sent(
    db: Database, clock: FakeClock
) -> None:
    notifier = RecordingNotifier(clock=clock)
    notifier.server_error(times=2)
    await queue(db, clock, "ann", "hello")
    worker = dispatcher(db, notifier, clock)
    for _ in range(4):
        await worker.drain()
        later(clock, 2.5)
    times = [at for _, at in notifier.attempts]
    assert len(times) == 3 and notifier.texts() == ["hello"]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert 0.8 <= gaps[0] <= 2.5 and gaps[1] >= 1.6  # roughly 1 s, then 2 s (jittered)
    [row] = await outbox(db)
    assert (row.status, row.attempts) == ("sent", 2)


async def test_transient_errors_are_retried_while_the_message_is_useful_then_fail(
    db: Database, clock: FakeClock
) -> None:
    notifier = RecordingNotifier(clock=clock)
    notifier.server_error(times=1000)
    queued = clock.now()
    async with db.session() as session:
        await enqueue(session, platform="console", chat="ann", kind="test_brief",
                      data={"text": "hello"}, dedupe_key="brief:1", now=queued)
    worker = dispatcher(db, notifier, clock, retry=RetryPolicy(base=4.0, cap=60.0),
                        breaker=Breaker("console", threshold=10_000))
    for _ in range(100):
        await worker.drain()
        [row] = await outbox(db)
        if row.status != "pending":
            break
        clock.set(max(row.not_before, clock.now()))
    times = [at for _, at in notifier.attempts]
    assert len(times) > 5 and notifier.sent == []  # not given up after five tries
    assert times[-1] == queued + BRIEF  # the last try at the last useful moment
    assert row.status == "failed" and row.attempts == len(times)
    assert row.error == (
        f"gave up after {len(times)} attempts, no longer useful: 500 Internal Server Error")


async def test_a_row_held_back_past_its_use_is_closed_unsent(
    db: Database, clock: FakeClock
) -> None:
    async with db.session() as session:
        await enqueue(session, platform="console", chat="ann", kind="test_brief",
                      data={"text": "hello"}, dedupe_key="brief:1", now=clock.now())
    later(clock, BRIEF.total_seconds() + 1)
    notifier = RecordingNotifier(clock=clock)
    await dispatcher(db, notifier, clock).drain()
    [row] = await outbox(db)
    assert notifier.attempts == []
    assert (row.status, row.error) == ("failed", "skipped: no longer useful")


async def outage_until(notifier: RecordingNotifier, clock: FakeClock, end: datetime,
                       failure: DeliveryError) -> None:
    def down(chat: str, reply: Reply) -> None:
        if clock.now() < end:
            raise failure

    notifier.before_send = down


async def test_an_outage_pauses_the_platform_then_everything_goes_out_once(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "habitbot.dispatcher")
    chats = [f"user{i}" for i in range(30)]
    for chat in chats:
        await queue(db, clock, chat, f"hi {chat}")
    notifier = RecordingNotifier(clock=clock)
    recovery = clock.now() + timedelta(seconds=300)
    await outage_until(notifier, clock, recovery, DeliveryError("transient", "502 Bad Gateway"))
    breaker = Breaker("console", threshold=5, probe_after=2.0, probe_cap=30.0,
                      monotonic=lambda: clock.now().timestamp())
    worker = dispatcher(db, notifier, clock, concurrency=1, breaker=breaker)
    while clock.now() < recovery + timedelta(seconds=60):
        await worker.drain()
        later(clock, 1)
    during = [at for _, at in notifier.attempts if at is not None and at < recovery]
    # Five failures pause it; then a probe after 2, 4, 8, 16, 30, 30 ... s: not a send a second.
    assert len(during) <= 5 + 15, len(during)
    assert sorted(s.chat for s in notifier.sent) == sorted(chats)
    rows = await outbox(db)
    assert {r.status for r in rows} == {"sent"}
    assert max(r.attempts for r in rows) <= 1  # the pause spent no row's attempts
    paused = [r for r in caplog.records if "deliveries paused" in r.getMessage()]
    assert len(paused) == 1 and breaker.pauses == 1 and not breaker.paused
    assert any("resume" in r.getMessage() for r in caplog.records)


async def test_a_refused_token_pauses_the_platform_and_fails_no_row(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(5):
        await queue(db, clock, f"user{i}", "hello")
    notifier = RecordingNotifier(clock=clock)
    fixed = clock.now() + timedelta(seconds=120)
    await outage_until(notifier, clock, fixed, DeliveryError("unauthorized", "401 Unauthorized"))
    worker = dispatcher(db, notifier, clock, concurrency=1)
    await worker.drain()
    assert len(notifier.attempts) == 1  # the first refusal pauses the platform
    [refused] = [r for r in caplog.records if "refused the bot token" in r.getMessage()]
    assert refused.levelname == "ERROR"
    rows = await outbox(db)
    assert {(r.status, r.attempts) for r in rows} == {("pending", 0)}
    while clock.now() < fixed + timedelta(seconds=60):
        await worker.drain()
        later(clock, 1)
    assert len(notifier.sent) == 5
    assert {r.status for r in await outbox(db)} == {"sent"}


async def test_a_hanging_send_times_out_and_is_retried(db: Database, clock: FakeClock) -> None:
    notifier = RecordingNotifier(clock=clock)
    notifier.fail_next(30.0)  # the platform does not answer
    await queue(db, clock, "ann", "hello")
    worker = dispatcher(db, notifier, clock, send_timeout=0.05)
    await worker.drain()
    [row] = await outbox(db)
    assert (row.status, row.error, row.attempts) == ("pending", "timeout", 1)
    later(clock, 2)
    await worker.drain()
    assert notifier.texts() == ["hello"]


async def test_blocked_user_becomes_unreachable_until_they_write_again(
    db: Database, clock: FakeClock, say: Say
) -> None:
    await say("/habit add Read remind=10:00", user="ann")  # Monday 09:00
    await say("/start", user="bob")
    notifier = RecordingNotifier(clock=clock)
    notifier.block("ann")
    await queue(db, clock, "ann", "one", "two")
    await queue(db, clock, "bob", "hi bob")
    worker = dispatcher(db, notifier, clock)
    await worker.drain()
    assert (await account(db, "ann")).unreachable
    rows = {r.data["text"]: r for r in await outbox(db)}
    assert rows["one"].status == "failed" and "blocked" in (rows["one"].error or "")
    assert rows["two"].status == "failed" and rows["two"].error.startswith("chat unreachable")
    assert rows["hi bob"].status == "sent"

    # Later messages to ann are not attempted; her 10:00 reminder is not even queued.
    await queue(db, clock, "ann", "three")
    clock.set(clock.now().replace(hour=10, minute=1))
    from scheduler.ticks import reminders

    assert await reminders(db, clock.now()) == 0
    await worker.drain()
    assert [c for c, _ in notifier.attempts].count("ann") == 1
    assert {r.data.get("text"): r.error for r in await outbox(db)}["three"] == "chat unreachable"

    # ann unblocks the bot and writes: she is reachable again and hears from us.
    notifier.unblock("ann")
    await say("/today", user="ann")
    assert not (await account(db, "ann")).unreachable
    await queue(db, clock, "ann", "welcome back")
    await worker.drain()
    assert notifier.texts("ann") == ["welcome back"]


async def test_a_bad_message_does_not_make_the_chat_unreachable(
    db: Database, clock: FakeClock, say: Say
) -> None:
    await say("/start", user="ann")
    notifier = RecordingNotifier(clock=clock)
    notifier.fail_next(DeliveryError("permanent", "Bad Request: can't parse entities"))
    await queue(db, clock, "ann", "broken", "fine")
    await dispatcher(db, notifier, clock).drain()
    assert not (await account(db, "ann")).unreachable
    assert {r.data["text"]: r.status for r in await outbox(db)} == {
        "broken": "failed", "fine": "sent"}


async def test_kicked_from_a_group_marks_the_group_unreachable(
    db: Database, clock: FakeClock, say: Say
) -> None:
    await say("/start", user="boss", group="gym")
    notifier = RecordingNotifier(clock=clock)
    notifier.block("gym", "Forbidden: bot was kicked from the supergroup chat")
    await queue(db, clock, "gym", "digest")
    await dispatcher(db, notifier, clock).drain()
    async with db.session() as session:
        group = await session.scalar(select(Group).where(Group.external_id == "gym"))
    assert group is not None and group.unreachable


async def test_unknown_kind_fails_with_a_reason(db: Database, clock: FakeClock) -> None:
    async with db.session() as session:
        await enqueue(session, platform="console", chat="ann", kind="mystery", data={},
                      dedupe_key="mystery:1", now=clock.now())
    await dispatcher(db, RecordingNotifier(), clock).drain()
    [row] = await outbox(db)
    assert (row.status, row.error) == ("failed", "no renderer for kind 'mystery'")


async def test_stopped_mid_fanout_and_restarted_sends_the_rest_once(
    db: Database, clock: FakeClock
) -> None:
    chats = [f"user{i}" for i in range(60)]
    for chat in chats:
        await queue(db, clock, chat, f"reminder for {chat}")
    notifier = RecordingNotifier(clock=clock)
    worker = dispatcher(db, notifier, clock, concurrency=4)
    task = asyncio.create_task(worker.drain())

    def stop_after_25(chat: str, reply: Reply) -> None:
        if len(notifier.attempts) == 26:  # the 26th send never reaches the platform
            task.cancel()
            raise asyncio.CancelledError

    notifier.before_send = stop_after_25
    with pytest.raises(asyncio.CancelledError):
        await task
    await worker.close()  # what was sent gets written down, as on a graceful exit
    assert 20 <= len(notifier.sent) < 60  # sends already under way when stopped finish
    notifier.before_send = None
    restarted = dispatcher(db, notifier, clock)  # a new process: untouched rows come back now
    await restarted.drain()
    later(clock, 150)  # anything that was in flight comes back when its lease ends
    await restarted.drain()
    delivered = [s.chat for s in notifier.sent]
    assert sorted(delivered) == sorted(chats)  # every chat exactly once
    assert {r.status for r in await outbox(db)} == {"sent"}


async def test_a_crashed_worker_rows_return_after_the_lease(
    db: Database, clock: FakeClock
) -> None:
    for i in range(10):
        await queue(db, clock, f"user{i}", "hello")
    async with db.session() as session:  # a worker claims a batch and dies
        assert len(await claim(session, "console", clock.now(), 100)) == 10
    notifier = RecordingNotifier(clock=clock)
    worker = dispatcher(db, notifier, clock)
    await worker.drain()
    assert notifier.sent == []  # leased to the dead worker
    later(clock, 121)
    await worker.drain()
    assert len(notifier.sent) == 10 and len({s.chat for s in notifier.sent}) == 10


async def test_two_dispatchers_on_one_database_send_each_message_once(
    db: Database, clock: FakeClock
) -> None:
    """Two workers (separate engines, as separate processes would have) drain one outbox."""
    chats = [f"user{i}" for i in range(40)]
    for chat in chats:
        await queue(db, clock, chat, *(f"m{n}" for n in range(5)))
    notifier = RecordingNotifier(clock=clock)
    other = Database(db.url)
    try:
        workers = [
            Dispatcher(db, notifier, clock, UNLIMITED, batch=25),
            Dispatcher(other, notifier, clock, UNLIMITED, batch=25),
        ]
        await asyncio.gather(*(w.drain() for w in workers))
    finally:
        await other.dispose()
    sent = [(s.chat, s.text) for s in notifier.sent]
    assert len(sent) == len(set(sent)) == 200
    assert all(w.stats["sent"] > 0 for w in workers), [w.stats for w in workers]
    # Each chat's messages still arrive in the order they were queued.
    for chat in chats:
        assert notifier.texts(chat) == [f"m{n}" for n in range(5)]


async def test_per_chat_limit_spaces_messages_and_hands_back_the_rest(
    db: Database, clock: FakeClock
) -> None:
    limits = PlatformLimits(per_second=30, per_chat_interval=1.0)
    await queue(db, clock, "ann", *(f"m{n}" for n in range(5)))
    notifier = RecordingNotifier(clock=clock)
    worker = dispatcher(db, notifier, clock, limits, hold=1.5)
    start: datetime = clock.now()
    for _ in range(10):
        await worker.drain()
        later(clock, 0.5)
    assert notifier.texts("ann") == [f"m{n}" for n in range(5)]
    times = [s.at for s in notifier.sent]
    assert times[0] == start
    assert all((b - a).total_seconds() >= 1.0 for a, b in itertools.pairwise(times))


async def test_discord_dm_chat_ids_are_matched_to_their_account(
    db: Database, clock: FakeClock
) -> None:
    """Discord DMs are addressed "dm:<user id>": a 50007 there flags that user's account."""
    from core.users.accounts import resolve_account

    async with db.session() as session:
        await resolve_account(session, "discord", "123", "Dee", "dm:123", clock.now())
    notifier = RecordingNotifier(platform="discord", clock=clock)
    notifier.block("dm:123", "Forbidden 403 50007: Cannot send messages to this user")
    await queue(db, clock, "dm:123", "one", platform="discord")
    worker = dispatcher(db, notifier, clock)
    await worker.drain()
    assert (await account(db, "123")).unreachable
    await queue(db, clock, "dm:123", "two", platform="discord")
    await worker.drain()
    assert len(notifier.attempts) == 1  # "two" was closed without an attempt
    assert [r.error for r in await outbox(db)][1] == "chat unreachable"


async def test_a_notifier_not_ready_yet_keeps_its_rows(db: Database, clock: FakeClock) -> None:
    notifier = RecordingNotifier(clock=clock)
    connected = False
    notifier.ready = lambda: connected  # type: ignore[attr-defined]
    await queue(db, clock, "ann", "hello")
    worker = dispatcher(db, notifier, clock)
    await worker.drain()
    [row] = await outbox(db)
    assert (row.status, row.attempts, notifier.attempts) == ("pending", 0, [])
    connected = True
    await worker.drain()
    assert notifier.texts() == ["hello"]


class _LateTurn(Limiter):
    """A turn to send that comes after the lease ran out, while another worker took the row."""

    def __init__(self, clock: FakeClock, meanwhile: Any) -> None:
        super().__init__(UNLIMITED)
        self.clock, self.meanwhile = clock, meanwhile

    async def acquire(self, chat: str) -> None:
        later(self.clock, 121)
        await self.meanwhile()


async def test_a_row_whose_turn_came_after_its_lease_is_sent_once(
    db: Database, clock: FakeClock
) -> None:
    """Several processes share one send budget, so a claimed row can wait long for its turn;
    if its lease ran out and another worker sent it meanwhile, it is not sent again."""
    await queue(db, clock, "user0", "hello")
    notifier = RecordingNotifier(clock=clock)
    other = dispatcher(db, notifier, clock)
    slow = Dispatcher(db, notifier, clock, UNLIMITED, limiter=_LateTurn(clock, other.drain))
    await slow.drain()
    assert notifier.texts("user0") == ["hello"]
    assert [r.status for r in await outbox(db)] == ["sent"]


async def test_a_late_turn_keeps_a_lease_still_held(db: Database, clock: FakeClock) -> None:
    await queue(db, clock, "user0", "hello")
    notifier = RecordingNotifier(clock=clock)
    turn = _LateTurn(clock, lambda: asyncio.sleep(0))
    slow = Dispatcher(db, notifier, clock, UNLIMITED, limiter=turn)
    await slow.drain()
    assert notifier.texts("user0") == ["hello"]
    assert [r.status for r in await outbox(db)] == ["sent"]  # written down, lease and all


async def test_a_reply_waiting_its_turn_is_sent_by_its_process_or_the_outbox_never_both(
    db: Database, clock: FakeClock
) -> None:
    answer = OutboxAnswer("console", "console:1", lambda _reply: "user0")
    async with db.session() as session:
        assert await answer.record(session, Reply.text("Added Read"), clock.now())
    receipts, notifier = Receipts(db, clock), RecordingNotifier(clock=clock)
    outbox_worker = dispatcher(db, notifier, clock)
    later(clock, 10)
    assert await receipts.keep(answer)  # its turn came late, the lease still held: kept
    later(clock, 10)
    await outbox_worker.drain()
    assert notifier.sent == []  # 20 s after recording, still this process's to send
    later(clock, 10)
    await outbox_worker.drain()  # the process never sent it (it died, or waits on)
    assert notifier.texts("user0") == ["Added Read"]
    assert not await receipts.keep(answer)  # so when its turn comes, it does not send again
