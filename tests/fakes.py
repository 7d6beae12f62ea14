"""Shared test doubles. `RecordingNotifier` is a Notifier that records every attempt and every
delivered message, and fails on cue the way platforms do (429, 5xx, timeouts, blocked)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bots.notify import DeliveryError, Progress
from bots.reply import Reply


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
