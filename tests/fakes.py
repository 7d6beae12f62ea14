"""Shared test doubles. `RecordingNotifier` is a Notifier that records every attempt and every
delivered message, and fails on cue the way platforms do (429, 5xx, timeouts, blocked)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert

from bots.notify import DeliveryError, Progress
from bots.reply import Reply
from core.habits.names import name_key
from core.storage.db import Database
from core.storage.models import Account, Habit, User


@dataclass(frozen=True)
class Sent:
    chat: str
    reply: Reply
    at: datetime | None

    @property
    def text(self) -> str:
        return self.reply.plain()


class RecordingNotifier:
    def __init__(self, platform: str = "console", clock: object | None = None) -> None:
        self.platform = platform
        self.clock = clock  # anything with now(): stamps each delivery
        self.sent: list[Sent] = []
        self.attempts: list[tuple[str, datetime | None]] = []
        self.blocked: dict[str, str] = {}  # chat -> permanent reason, until unblocked
        self._script: list[tuple[str | None, BaseException | float]] = []
        self.before_send: Callable[[str, Reply], None] | None = None

    def _now(self) -> datetime | None:
        return self.clock.now() if self.clock is not None else None  # type: ignore[attr-defined]

    def fail_next(
        self, error: BaseException | float, chat: str | None = None, times: int = 1
    ) -> None:
        """Queue failures: a DeliveryError to raise, or a float = hang that many seconds (a
        timeout). `chat` limits it to sends to that chat."""
        self._script.extend([(chat, error)] * times)

    def rate_limit(self, retry_after: float, chat: str | None = None, scope: str = "chat") -> None:
        error = DeliveryError("rate_limited", "Too Many Requests", retry_after=retry_after)
        error.scope = scope  # type: ignore[attr-defined]
        self.fail_next(error, chat)

    def server_error(self, chat: str | None = None, times: int = 1) -> None:
        self.fail_next(DeliveryError("transient", "500 Internal Server Error"), chat, times)

    def block(self, chat: str, reason: str = "Forbidden: bot was blocked by the user") -> None:
        self.blocked[chat] = reason

    def unblock(self, chat: str) -> None:
        self.blocked.pop(chat, None)

    async def send(self, chat: str, reply: Reply, progress: Progress | None = None) -> None:
        self.attempts.append((chat, self._now()))
        if self.before_send is not None:
            self.before_send(chat, reply)
        if chat in self.blocked:
            raise DeliveryError("permanent", self.blocked[chat])
        for index, (only, failure) in enumerate(self._script):
            if only is None or only == chat:
                del self._script[index]
                if isinstance(failure, BaseException):
                    raise failure
                await asyncio.sleep(failure)
                break
        self.sent.append(Sent(chat, reply, self._now()))

    def texts(self, chat: str | None = None) -> list[str]:
        return [s.text for s in self.sent if chat is None or s.chat == chat]


async def telegram_users(
    db: Database,
    first_chat: int,
    count: int,
    now: datetime,
    *,
    habit: str,
    target: float | None = None,
    unit: str | None = None,
    remind_now: bool = False,
) -> list[int]:
    """`count` people who used the bot on Telegram yesterday, each with one daily habit (a
    reminder due at `now` if asked); returns their chat ids. Seeded in three statements, so a
    test of hundreds of users does not spend its time typing /habit add."""
    created = now - timedelta(days=1)
    due = now.replace(second=0, microsecond=0)  # a reminder is due on its minute
    chats = [first_chat + i for i in range(count)]
    async with db.engine.begin() as conn:
        ids = (
            await conn.execute(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [dict(handle=f"u{chat}", name=f"U{chat}", timezone="UTC", language="en",
                      profile_public=True, dm_policy="everyone", nudges=False,
                      claim_cycle_day=0, created_at=created) for chat in chats],
            )
        ).scalars().all()
        await conn.execute(insert(Account), [
            dict(platform="telegram", external_id=str(chat), user_id=uid,
                 private_chat=str(chat), unreachable=False, last_seen_at=created)
            for chat, uid in zip(chats, ids, strict=True)])
        await conn.execute(insert(Habit), [
            dict(user_id=uid, name=habit, name_key=name_key(habit), kind="build", schedule="day",
                 target=target, unit=unit, start_date=created.date(), created_at=created,
                 remind_at=due.strftime("%H:%M") if remind_now else None,
                 next_reminder_at=due if remind_now else None)
            for uid in ids])
    return chats
