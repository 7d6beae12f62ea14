"""Re-encrypt every stored message token under the first key (`habitbot keys rotate`), so the
old keys can be dropped. Batches commit one at a time and a token the first key opens already
is skipped, so a run that stops halfway is simply run again (or resumed after an id)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update

from core.storage.cipher import Cipher
from core.storage.db import Database
from core.storage.models import Message, Outbox, Report

BATCH = 500


@dataclass
class Rotation:
    total: int = 0  # messages to look at
    seen: int = 0
    rotated: int = 0
    unreadable: list[int] | None = None  # ids no configured key opens (left as they are)
    last_id: int = 0  # the last message id done: where a resumed run starts
    others: int = 0  # tokens re-encrypted in queued relays and report snapshots


async def rotate_messages(
    db: Database,
    box: Cipher,
    after: int = 0,
    batch: int = BATCH,
    progress: Callable[[Rotation], None] | None = None,
) -> Rotation:
    done = Rotation(unreadable=[], last_id=after)
    async with db.session() as session:
        done.total = (
            await session.scalar(
                select(func.count()).select_from(Message).where(Message.id > after)
            )
            or 0
        )
    while True:
        async with db.session() as session:  # one transaction per batch: it stays done
            rows = (
                await session.execute(
                    select(Message.id, Message.body)
                    .where(Message.id > done.last_id)
                    .order_by(Message.id)
                    .limit(batch)
                )
            ).all()
            if not rows:
                break
            changed = []
            for message_id, body in rows:
                if box.current(body):
                    continue
                if not box.readable(body):
                    assert done.unreadable is not None
                    done.unreadable.append(message_id)
                    continue
                changed.append({"mid": message_id, "token": box.rotate(body)})
            if changed:
                table = Message.__table__
                await session.execute(
                    update(table)
                    .where(table.c.id == bindparam("mid"))
                    .values(body=bindparam("token")),
                    changed,
                )
            done.seen += len(rows)
            done.rotated += len(changed)
            done.last_id = rows[-1][0]
        if progress is not None:
            progress(done)
    done.others = await _copies(db, box)
    return done


def _again(box: Cipher, token: str) -> str | None:
    if box.current(token) or not box.readable(token):
        return None
    return box.rotate(token)


async def _copies(db: Database, box: Cipher) -> int:
    """Relays still queued and report snapshots carry tokens too: few, done in one go."""
    count = 0
    async with db.session() as session:
        for row in await session.scalars(
            select(Outbox).where(Outbox.kind == "dm", Outbox.status == "pending")
        ):
            token = _again(box, row.data.get("body", ""))
            if token is not None:
                row.data = {**row.data, "body": token}
                count += 1
        for report in await session.scalars(select(Report)):
            kept = report.snapshot.get("messages")
            if not kept:
                continue
            fresh = [{**m, "body": _again(box, m["body"]) or m["body"]} for m in kept]
            if fresh != kept:
                report.snapshot = {**report.snapshot, "messages": fresh}
                count += 1
    return count
