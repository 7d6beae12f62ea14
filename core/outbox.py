"""Enqueue a message the bot sends on its own initiative. The dedupe key makes it idempotent:
a tick that runs twice, or two workers, enqueue it once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.db import insert_ignore
from core.storage.models import Outbox


async def enqueue(
    session: AsyncSession,
    *,
    platform: str,
    chat: str,
    kind: str,
    data: dict[str, Any],
    dedupe_key: str,
    now: datetime,
    not_before: datetime | None = None,
) -> bool:
    """Queue one message; returns False when the dedupe key was already queued."""
    inserted = await session.scalar(
        insert_ignore(
            session,
            Outbox,
            dict(
                dedupe_key=dedupe_key[:160],
                platform=platform,
                chat=chat,
                kind=kind,
                data=data,
                status="pending",
                attempts=0,
                not_before=not_before or now,
                created_at=now,
            ),
        ).returning(Outbox.id)
    )
    return inserted is not None


class Doorbell:
    """Rung after a command committed something to the outbox that should go out now (a
    relayed message): each dispatcher listening wakes at once instead of at its next poll."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def listen(self, wake: Callable[[], None]) -> None:
        self._listeners.append(wake)

    def ring(self) -> None:
        for wake in self._listeners:
            wake()
