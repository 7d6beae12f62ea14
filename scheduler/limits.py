"""Per-platform sending limits, enforced in-process before each send.

Telegram: about 30 messages/s overall, one per second to a chat, 20 per minute to a group.
Discord: 50 requests/s overall (per-route buckets are the notifier's business; their 429s come
back with retry_after). A 429's retry_after blocks the chat, or everything when the platform says
the limit is global.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

# Requests reach the platform a little after they start; keep their spread from making any
# second there hold one message too many.
WINDOW_MARGIN = 0.02


def _telegram_group(chat: str) -> bool:
    return chat.startswith("-")  # group and supergroup ids are negative


def _never(chat: str) -> bool:
    return False


@dataclass(frozen=True)
class PlatformLimits:
    per_second: float | None = None  # overall sends per second; None = unlimited
    per_chat_interval: float = 0.0  # seconds between two sends to one chat
    group_per_minute: int | None = None  # sends per minute to one group chat
    is_group: Callable[[str], bool] = _never


TELEGRAM = PlatformLimits(30, 1.0, 20, _telegram_group)
DISCORD = PlatformLimits(50)
UNLIMITED = PlatformLimits()
LIMITS: dict[str, PlatformLimits] = {"telegram": TELEGRAM, "discord": DISCORD}


def limits_for(platform: str) -> PlatformLimits:
    return LIMITS.get(platform, UNLIMITED)


class Limiter:
    """Paces sends of one process. Times come from `now` (monotonic seconds) so tests can use a
    fake clock; `sleep` must then move that clock."""

    def __init__(
        self,
        limits: PlatformLimits,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limits, self.now, self.sleep = limits, now, sleep
        per_second = limits.per_second
        self._interval = 1.0 / per_second if per_second else 0.0
        self._window_size = math.ceil(per_second) if per_second else 0
        self._window: deque[float] = deque()  # start times of the last sends, oldest first
        self._next_slot = -math.inf
        self._lock = asyncio.Lock()
        self._chat_last: dict[str, float] = {}
        self._groups: dict[str, deque[float]] = {}
        self._chat_blocked: dict[str, float] = {}
        self._blocked_until = -math.inf

    def global_wait(self) -> float:
        """Seconds until a global block (a 429 for everything) is over."""
        return max(0.0, self._blocked_until - self.now())

    def chat_wait(self, chat: str) -> float:
        """Seconds until `chat` may receive again (its interval, group window or a 429)."""
        now = self.now()
        until = self._chat_blocked.get(chat, -math.inf)
        if self.limits.per_chat_interval:
            until = max(until, self._chat_last.get(chat, -math.inf) + self.limits.per_chat_interval)
        group = self._groups.get(chat)
        if group is not None and self.limits.group_per_minute:
            while group and group[0] <= now - 60.0:
                group.popleft()
            if len(group) >= self.limits.group_per_minute:
                until = max(until, group[0] + 60.0)
        return max(0.0, until - now)

    async def acquire(self, chat: str) -> None:
        """Wait for the next global slot and take it for `chat`.

        Slots are taken one at a time. They are spaced evenly from the previous slot's planned
        time, so the event loop waking a little late does not pile up into a slower pace; the
        sliding window, stamped with the real start times, still caps any second at the limit.
        """
        async with self._lock:
            while True:
                now = self.now()
                ready = max(self._blocked_until, self._next_slot)
                if self._window_size and len(self._window) >= self._window_size:
                    ready = max(ready, self._window[0] + 1.0 + WINDOW_MARGIN)
                if ready <= now:
                    break
                await self.sleep(ready - now)
            # Catch up at most half a slot of lateness: after an idle spell, no burst.
            self._next_slot = max(ready, now - self._interval / 2) + self._interval
            if self._window_size:
                self._window.append(now)
                while len(self._window) > self._window_size:
                    self._window.popleft()
            self._note_chat(chat, now)

    def _note_chat(self, chat: str, now: float) -> None:
        if self.limits.per_chat_interval:
            self._chat_last[chat] = now
            if len(self._chat_last) > 50_000:  # forget chats whose interval is long over
                horizon = now - self.limits.per_chat_interval
                self._chat_last = {c: t for c, t in self._chat_last.items() if t > horizon}
        if self.limits.group_per_minute and self.limits.is_group(chat):
            self._groups.setdefault(chat, deque()).append(now)

    def block_chat(self, chat: str, seconds: float) -> None:
        until = self.now() + seconds
        self._chat_blocked[chat] = max(self._chat_blocked.get(chat, -math.inf), until)
        if len(self._chat_blocked) > 10_000:
            now = self.now()
            self._chat_blocked = {c: t for c, t in self._chat_blocked.items() if t > now}

    def block_all(self, seconds: float) -> None:
        self._blocked_until = max(self._blocked_until, self.now() + seconds)
