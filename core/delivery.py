"""Outbox delivery bookkeeping: claim rows that are due, then record how each send ended.

Several dispatchers may share one PostgreSQL outbox: a claim locks candidate rows with
`FOR UPDATE SKIP LOCKED` and leases them (`claimed_until`), so concurrent claims never overlap
and a crashed worker's rows come back when its lease runs out. On SQLite one process does the
work and BEGIN IMMEDIATE makes a claim atomic. Every row ends `sent`, or `failed` with a reason.

A row that keeps failing transiently is retried for as long as it is worth reading: a reminder
until it goes stale, anything else (announcements, relayed messages) for USEFUL_FOR after it
was queued. A kind may register its own rule (`register_useful_until`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.db import insert_ignore_into, params, prepared
from core.storage.models import Account, Group, Outbox

LEASE = timedelta(minutes=2)
USEFUL_FOR = timedelta(days=1)  # how long a message without a rule of its own is worth sending
RETENTION = timedelta(days=30)
PLATFORMS = ("telegram", "discord", "console")


@dataclass(frozen=True)
class Claimed:
    id: int
    platform: str
    chat: str
    kind: str
    data: dict[str, Any]
    attempts: int
    dedupe_key: str
    lease: datetime  # the claimed_until this claim wrote: marks apply only while it still holds
    parts_sent: int = 0  # messages of the reply delivered by earlier attempts
    created_at: datetime | None = None  # when it was queued (None: just now)


# Per outbox kind, a check run at claim time that names rows overtaken by events (a reminder for
# a habit done meanwhile): outbox id -> reason. They end failed "skipped: <reason>", unsent.
Items = list[tuple[int, dict[str, Any]]]
Check = Callable[[AsyncSession, Items, datetime], Awaitable[dict[int, str]]]
CHECKS: dict[str, Check] = {}


def register_check(kind: str, check: Check) -> None:
    CHECKS[kind] = check


# Per outbox kind, until when a row is worth sending, from its data and when it was queued.
UsefulUntil = Callable[[dict[str, Any], datetime], datetime]
USEFUL_UNTIL: dict[str, UsefulUntil] = {}


def register_useful_until(kind: str, rule: UsefulUntil) -> None:
    USEFUL_UNTIL[kind] = rule


# Per outbox kind, what follows a row's end: sent, or failed for good (a refused chat, an
# unreachable one closed at claim time). Run in the transaction that records the outcome.
Outcome = Callable[[AsyncSession, dict[str, Any], datetime], Awaitable[None]]
ON_SENT: dict[str, Outcome] = {}
ON_FAILED: dict[str, Outcome] = {}


def register_outcome(kind: str, sent: Outcome, failed: Outcome) -> None:
    ON_SENT[kind], ON_FAILED[kind] = sent, failed


def useful_until(item: Claimed, now: datetime) -> datetime:
    """Until when `item` is worth a retry: its kind's rule, else USEFUL_FOR after queueing."""
    queued = item.created_at or now
    rule = USEFUL_UNTIL.get(item.kind)
    return rule(item.data, queued) if rule is not None else queued + USEFUL_FOR


def _claimable(platform: str, now: datetime) -> Any:
    return (
        (Outbox.platform == platform)
        & (Outbox.status == "pending")
        & (Outbox.not_before <= now)
        & or_(Outbox.claimed_until.is_(None), Outbox.claimed_until <= now)
    )


async def claim(
    session: AsyncSession, platform: str, now: datetime, limit: int, lease: timedelta = LEASE
) -> list[Claimed]:
    """Lease up to `limit` due rows of one platform, oldest first.

    Rows to chats known to be unreachable, rows past their use and rows a kind's check finds
    obsolete are closed here without a send attempt; the rest are returned for sending.
    """
    until = now + lease
    candidates = (
        select(Outbox.id)
        .where(_claimable(platform, now))
        .order_by(Outbox.not_before, Outbox.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = (
        await session.execute(
            update(Outbox)
            .where(Outbox.id.in_(candidates.scalar_subquery()))
            .values(claimed_until=until)
            .returning(
                Outbox.id,
                Outbox.chat,
                Outbox.kind,
                Outbox.data,
                Outbox.attempts,
                Outbox.dedupe_key,
                Outbox.not_before,
                Outbox.parts_sent,
                Outbox.created_at,
            )
            .execution_options(synchronize_session=False)
        )
    ).all()
    rows.sort(key=lambda r: (r.not_before, r.id))  # RETURNING does not keep the subquery's order
    items = [
        Claimed(
            r.id,
            platform,
            r.chat,
            r.kind,
            r.data,
            r.attempts,
            r.dedupe_key,
            until,
            r.parts_sent,
            r.created_at,
        )
        for r in rows
    ]
    if not items:
        return []

    closed: dict[int, str] = {}
    dead = await unreachable_chats(session, platform, {i.chat for i in items})
    for item in items:
        if item.chat in dead:
            closed[item.id] = "chat unreachable"
    by_kind: dict[str, Items] = {}
    for item in items:
        if item.id not in closed and item.kind in CHECKS:
            by_kind.setdefault(item.kind, []).append((item.id, item.data))
    for kind, batch in by_kind.items():
        for outbox_id, reason in (await CHECKS[kind](session, batch, now)).items():
            closed[outbox_id] = f"skipped: {reason}"
    for item in items:
        if item.id not in closed and now > useful_until(item, now):  # held past its use
            closed[item.id] = "skipped: no longer useful"
    for reason in set(closed.values()):
        ids = [i for i, r in closed.items() if r == reason]
        await session.execute(
            update(Outbox)
            .where(Outbox.id.in_(ids))
            .values(status="failed", error=reason, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
    for item in items:
        if item.id in closed and item.kind in ON_FAILED:
            await ON_FAILED[item.kind](session, item.data, now)
    return [i for i in items if i.id not in closed]


def _owner_ids(chat: str) -> list[str]:
    """The account ids a private chat may belong to: the chat id itself (Telegram's chat id is
    the user id; console names) or what follows a prefix (Discord's "dm:<user id>")."""
    return [chat, chat.split(":", 1)[1]] if ":" in chat else [chat]


async def unreachable_chats(session: AsyncSession, platform: str, chats: set[str]) -> set[str]:
    """Which of these chats belong to an account or group marked unreachable.

    Accounts are found through the (platform, external_id) index via `_owner_ids`; groups are
    few, so their announce channel needs no index.
    """
    if not chats:
        return set()
    wanted = sorted(chats)
    owners = sorted({o for c in chats for o in _owner_ids(c)})
    dead = set(
        await session.scalars(
            select(Account.private_chat).where(
                Account.platform == platform,
                Account.external_id.in_(owners),
                Account.private_chat.in_(wanted),
                Account.unreachable.is_(True),
            )
        )
    )
    for external_id, announce in await session.execute(
        select(Group.external_id, Group.announce_chat).where(
            Group.platform == platform,
            Group.unreachable.is_(True),
            or_(Group.external_id.in_(wanted), Group.announce_chat.in_(wanted)),
        )
    ):
        dead |= {external_id, announce} & chats
    return {c for c in dead if c is not None}


def _mine(item: Claimed) -> Any:
    # A stale worker whose lease was taken over must not overwrite the new owner's outcome.
    return (
        (Outbox.id == item.id) & (Outbox.status == "pending") & (Outbox.claimed_until == item.lease)
    )


async def _close(session: AsyncSession, item: Claimed, **values: Any) -> bool:
    result = await session.execute(
        update(Outbox)
        .where(_mine(item))
        .values(claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def keep_lease(
    session: AsyncSession, outbox_id: int, held: datetime, now: datetime, lease: timedelta
) -> datetime | None:
    """Extend a lease still held (`held`: the claimed_until its holder wrote) to now + lease.
    None when it ran out and another worker took the row: that one sends it, this one must
    not. A send can wait long for its turn in the budget several processes share, so a lease
    past half its time is kept this way just before the send."""
    until = now + lease
    result = await session.execute(
        update(Outbox)
        .where(
            (Outbox.id == outbox_id)
            & (Outbox.status == "pending")
            & (Outbox.claimed_until == held)
        )
        .values(claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    return until if result.rowcount else None  # type: ignore[attr-defined]


async def mark_sent(session: AsyncSession, item: Claimed, now: datetime) -> bool:
    done = await _close(session, item, status="sent", sent_at=now, error=None)
    if done and item.kind in ON_SENT:
        await ON_SENT[item.kind](session, item.data, now)
    return done


async def mark_failed(session: AsyncSession, item: Claimed, reason: str, now: datetime) -> bool:
    done = await _close(session, item, status="failed", error=reason[:500])
    if done and item.kind in ON_FAILED:
        await ON_FAILED[item.kind](session, item.data, now)
    return done


async def retry_later(
    session: AsyncSession,
    item: Claimed,
    reason: str,
    when: datetime,
    now: datetime,
    parts_sent: int = 0,
) -> bool:
    """Count a failed attempt and try again at `when`, after the `parts_sent` messages that
    did arrive, or at the last moment the message is still useful if that comes first. Once
    it is no longer useful the row fails. Returns True when it will be retried."""
    attempts = item.attempts + 1
    until = useful_until(item, now)
    if now >= until:
        await _close(
            session,
            item,
            status="failed",
            attempts=attempts,
            error=f"gave up after {attempts} attempts, no longer useful: {reason}"[:500],
        )
        if item.kind in ON_FAILED:
            await ON_FAILED[item.kind](session, item.data, now)
        return False
    await _close(
        session,
        item,
        attempts=attempts,
        not_before=min(when, until),
        error=reason[:500],
        parts_sent=max(parts_sent, item.parts_sent),
    )
    return True


async def defer(
    session: AsyncSession, item: Claimed, when: datetime, reason: str, parts_sent: int = 0
) -> bool:
    """Hand a row back unsent (or with its first `parts_sent` messages sent), without counting
    an attempt (a rate limit is about pace, not about the message): it becomes claimable
    again at `when`."""
    return await _close(
        session,
        item,
        not_before=when,
        error=reason[:500],
        parts_sent=max(parts_sent, item.parts_sent),
    )


async def release(session: AsyncSession, items: list[Claimed]) -> None:
    """Give back leased rows that were never attempted (a worker stopping), so another worker
    or the restarted one can take them at once instead of after the lease."""
    for item in items:
        await _close(session, item)


async def mark_unreachable(
    session: AsyncSession, platform: str, chat: str, reason: str, now: datetime
) -> int:
    """The platform refused a chat for good (bot blocked, chat gone): flag the account or group
    so nothing new is queued for it, and close the chat's other waiting rows unsent.
    A user writing to the bot again makes the account reachable (resolve_account).
    Returns how many waiting rows were closed."""
    result = await session.execute(
        update(Account)
        .where(
            Account.platform == platform,
            Account.external_id.in_(_owner_ids(chat)),
            Account.private_chat == chat,
        )
        .values(unreachable=True)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        await session.execute(
            update(Account)
            .where(Account.platform == platform, Account.private_chat == chat)
            .values(unreachable=True)
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(Group)
        .where(
            Group.platform == platform,
            or_(Group.external_id == chat, Group.announce_chat == chat),
        )
        .values(unreachable=True)
        .execution_options(synchronize_session=False)
    )
    waiting = (
        Outbox.platform == platform,
        Outbox.status == "pending",
        Outbox.chat == chat,
        or_(Outbox.claimed_until.is_(None), Outbox.claimed_until <= now),
    )
    if ON_FAILED:  # what follows the end of the rows closed here (a relayed message waits)
        for kind, data in await session.execute(
            select(Outbox.kind, Outbox.data).where(*waiting, Outbox.kind.in_(list(ON_FAILED)))
        ):
            await ON_FAILED[kind](session, data, now)
    closed = await session.execute(
        update(Outbox)
        .where(*waiting)
        .values(status="failed", error=f"chat unreachable: {reason}"[:500], claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(closed.rowcount)  # type: ignore[attr-defined]


async def next_pending_at(
    session: AsyncSession, after: datetime, platform: str | None = None
) -> datetime | None:
    """When the next waiting row (e.g. held back by quiet hours) becomes due after `after`."""
    query = select(func.min(Outbox.not_before)).where(
        Outbox.status == "pending", Outbox.not_before > after
    )
    if platform is not None:
        query = query.where(Outbox.platform == platform)
    return await session.scalar(query)


async def prune(
    session: AsyncSession,
    now: datetime,
    keep: timedelta = RETENTION,
    limit: int = 5000,
    platforms: tuple[str, ...] = PLATFORMS,
) -> int:
    """Delete finished rows older than `keep`, through the (platform, status, not_before)
    index. Their dedupe keys go too: by then nothing would enqueue them again."""
    removed = 0
    for platform in platforms:
        for status in ("sent", "failed"):
            old = (
                select(Outbox.id)
                .where(
                    Outbox.platform == platform,
                    Outbox.status == status,
                    Outbox.not_before < now - keep,
                )
                .limit(limit)
            )
            result = await session.execute(
                delete(Outbox)
                .where(Outbox.id.in_(old.scalar_subquery()))
                .execution_options(synchronize_session=False)
            )
            removed += int(result.rowcount)  # type: ignore[attr-defined]
    return removed


# ------------------------------------------------------------ answers to incoming updates
# An answer is recorded in the transaction of the command it answers, already leased to the
# process that sends it at once. If that process dies before writing down that it was sent, the
# lease runs out and a dispatcher sends it: a reply is never lost, and arrives twice only when
# the sender died with it in flight.
ANSWER_LEASE = timedelta(seconds=15)


async def record_answer(
    session: AsyncSession,
    *,
    platform: str,
    chat: str,
    data: dict[str, Any],
    key: str,
    now: datetime,
    lease: timedelta = ANSWER_LEASE,
) -> int | None:
    """The outbox id of the answer, or None when this update was answered already (a replay
    after a crash, or the same update given to two processes)."""
    return await session.scalar(
        prepared(session, _insert_answer),
        dict(
            dedupe_key=f"answer:{key}"[:160],
            platform=platform,
            chat=chat,
            data=data,
            not_before=now,
            claimed_until=now + lease,
            created_at=now,
        ),
    )


def _insert_answer(dialect: str) -> Any:
    # Core, prepared once: every command runs it (see core.storage.db.prepared).
    outbox = Outbox.__table__
    columns = ("dedupe_key", "platform", "chat", "data", "not_before", "claimed_until")
    return (
        insert_ignore_into(dialect, outbox)
        .values(
            **params(outbox, *columns, "created_at"),  # type: ignore[arg-type]
            kind="answer",
            status="pending",
            attempts=0,
            parts_sent=0,
        )
        .returning(outbox.c.id)
    )


async def answers_sent(session: AsyncSession, ids: list[int], now: datetime) -> None:
    await session.execute(prepared(session, _mark_answers_sent), {"ids": ids, "sent_at": now})


def _mark_answers_sent(dialect: str) -> Any:
    outbox = Outbox.__table__
    return (
        update(outbox)
        .where(outbox.c.id.in_(bindparam("ids", expanding=True)), outbox.c.status == "pending")
        .values(
            status="sent",
            sent_at=bindparam("sent_at", type_=outbox.c.sent_at.type),
            claimed_until=None,
            error=None,
        )
    )


async def hand_over(
    session: AsyncSession, outbox_id: int, when: datetime, reason: str, parts_sent: int
) -> None:
    """The sender could not deliver the answer now: the dispatcher takes it from `when`."""
    await session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id, Outbox.status == "pending")
        .values(claimed_until=None, not_before=when, error=reason[:500], parts_sent=parts_sent)
        .execution_options(synchronize_session=False)
    )


async def answer_failed(session: AsyncSession, outbox_id: int, reason: str) -> None:
    await session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id, Outbox.status == "pending")
        .values(status="failed", claimed_until=None, error=reason[:500])
        .execution_options(synchronize_session=False)
    )
