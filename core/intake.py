"""Durable intake: what a platform delivered is never lost between "it arrived" and "it is
answered".

The fast path writes nothing here: a command's answer is an outbox row keyed by the update,
written in the command's own transaction (core.delivery.record_answer), so "handled" commits
with the effects and a replay finds it. Only an update still being worked on when the platform
must be told it arrived (a slow command, a burst) is held here, and released once answered; a
process that dies meanwhile leaves it for the next start to replay. A payload holds what the
person typed (a direct message too), so it is kept encrypted, like messages are.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage import cipher
from core.storage.cipher import UNREADABLE
from core.storage.db import insert_ignore
from core.storage.models import HeldUpdate

log = logging.getLogger("habitbot.intake")


async def hold(
    session: AsyncSession,
    platform: str,
    updates: Iterable[tuple[str, dict[str, Any]]],
    now: datetime,
) -> None:
    """Keep these (key, payload) updates until released; a key held already stays as it is
    (two processes given the same update)."""
    seal = cipher.current().encrypt
    rows = [
        dict(platform=platform, key=k, payload={"sealed": seal(json.dumps(p))}, received_at=now)
        for k, p in updates
    ]
    if rows:
        await session.execute(insert_ignore(session, HeldUpdate, rows))


async def release(session: AsyncSession, platform: str, keys: Iterable[str]) -> None:
    pairs = [(platform, key) for key in keys]
    if pairs:
        await session.execute(
            delete(HeldUpdate).where(tuple_(HeldUpdate.platform, HeldUpdate.key).in_(pairs))
        )


async def held(session: AsyncSession, platform: str, limit: int = 500) -> list[dict[str, Any]]:
    """Payloads of held updates, oldest first, for a replay. One no configured key opens (its
    key dropped meanwhile) is logged and left out: its sender sees no answer and can repeat."""
    rows = await session.execute(
        select(HeldUpdate.key, HeldUpdate.payload)
        .where(HeldUpdate.platform == platform)
        .order_by(HeldUpdate.received_at, HeldUpdate.key)
        .limit(limit)
    )
    payloads = []
    for key, payload in rows:
        if "sealed" not in payload:  # held by a version that kept it in the clear
            payloads.append(payload)
            continue
        text = cipher.current().decrypt(payload["sealed"], f"held update {platform}:{key}")
        if text != UNREADABLE:
            payloads.append(json.loads(text))
    return payloads
