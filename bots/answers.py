"""Answers to incoming updates, durable on every platform: recorded with the command's effects
(an outbox row keyed by the update, leased to this process), sent at once, and written down as
sent in small batches. A reply the platform refuses for now, or one this process dies holding,
is the outbox dispatcher's to send."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bots.reply import Reply
from core.clock import Clock
from core.delivery import (
    ANSWER_LEASE,
    answer_failed,
    answers_sent,
    hand_over,
    keep_lease,
    record_answer,
)
from core.storage import cipher
from core.storage.db import Database

log = logging.getLogger("habitbot.answers")


@dataclass
class OutboxAnswer:
    """The answer to one update (a bots.commands.Answer): `key` names the update on its platform
    ("telegram:123"); `chat_for` says where a reply goes (a private reply asked for in a group
    goes to the person's private chat)."""

    platform: str
    key: str
    chat_for: Callable[[Reply], str]
    outbox_id: int | None = None
    held_until: datetime | None = None  # this process's lease on the recorded row

    async def record(self, session: AsyncSession, reply: Reply, now: datetime) -> bool:
        self.held_until = now + ANSWER_LEASE
        self.outbox_id = await record_answer(
            session,
            platform=self.platform,
            chat=self.chat_for(reply),
            data=answer_data(reply),
            key=self.key,
            now=now,
            lease=ANSWER_LEASE,
        )
        return self.outbox_id is not None


def answer_data(reply: Reply) -> dict[str, Any]:
    """The outbox row's data: the reply, encrypted whole when it holds text that is stored
    encrypted (bots/notifications.py reads both)."""
    if reply.sealed:
        return {"sealed": cipher.current().encrypt(json.dumps(reply.to_data()))}
    return {"reply": reply.to_data()}


class Receipts:
    """Writes down which recorded answers were delivered, gathered over `every` seconds, so a
    stream of commands costs one statement per interval instead of a transaction per reply.
    A process killed meanwhile leaves those answers to be sent again by the outbox: a kill -9
    may repeat the replies of its last `every` seconds, never lose one."""

    def __init__(self, db: Database, clock: Clock, every: float = 0.2) -> None:
        self.db, self.clock, self.every = db, clock, every
        self._sent: list[int] = []
        self._writer: asyncio.Task[None] | None = None
        self._now = asyncio.Event()  # set: write without waiting out the interval

    def sent(self, outbox_id: int) -> None:
        self._sent.append(outbox_id)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write())

    async def _write(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._now.wait(), self.every)
        while self._sent:
            batch, self._sent = self._sent, []
            try:
                async with self.db.session() as session:
                    await answers_sent(session, batch, self.clock.now())
            except Exception:
                # Unwritten, the answers are sent again once their lease runs out: say so.
                log.exception("could not write down %d delivered answer(s)", len(batch))

    async def keep(self, answer: OutboxAnswer) -> bool:
        """Just before sending: False when the answer's lease ran out while it waited its turn
        and a dispatcher took it (that one sends it); else the lease is long enough to send."""
        now = self.clock.now()
        if answer.outbox_id is None or answer.held_until is None:
            return True
        if answer.held_until - now > ANSWER_LEASE / 2:
            return True
        async with self.db.session() as session:
            until = await keep_lease(
                session, answer.outbox_id, answer.held_until, now, ANSWER_LEASE
            )
        if until is None:
            log.info("reply to update %s was taken over by the outbox", answer.key)
            return False
        answer.held_until = until
        return True

    async def hand_over(self, outbox_id: int, seconds: float, reason: str, parts: int) -> None:
        when = self.clock.now() + timedelta(seconds=seconds)
        async with self.db.session() as session:
            await hand_over(session, outbox_id, when, reason, parts)

    async def failed(self, outbox_id: int, reason: str) -> None:
        async with self.db.session() as session:
            await answer_failed(session, outbox_id, reason)

    async def close(self) -> None:
        """Now, not after the interval (stopping, or a benchmark's slice): every delivered
        answer written down."""
        self._now.set()
        try:
            if self._writer is not None:
                await asyncio.shield(self._writer)
            await self._write()
        finally:
            self._now.clear()
