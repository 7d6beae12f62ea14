"""Per-platform sending limits, enforced in-process before each send.

Telegram: about 30 messages/s overall, one per second to a chat, 20 per minute to a group.
Discord: 50 requests/s overall (per-route buckets are the notifier's business; their 429s come
back with retry_after). A 429's retry_after blocks the chat, or everything when the platform says
the limit is global.

The limits are per bot token, whatever the number of processes sending with it. With REDIS_URL
set, a SharedBudget counts every send of every process in Redis (the `limits` package's moving
window: one Lua script per send, atomic in Redis) before the process's own pacing lets it go.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("habitbot.dispatcher")
# Sends a shared window keeps below the overall limit. Each send is stamped in Redis before it
# leaves, and several processes' sends reach the platform with different delays: with two
# sender processes on two busy cores (bench/fanout.py --processes 2), a window of the full 30
# let 8-17 of 3,000 messages arrive over the limit (429), a window of 28 spread evenly 2, and
# three webhook processes at 28 still met up to 4 in 900 (tests/adapters/test_scale_out.py).
SHARED_HEADROOM = 4

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


def budget_id(platform: str, token: str) -> str:
    """Names a bot token's budget in Redis without revealing the token."""
    return f"{platform}:{hashlib.sha256(token.encode()).hexdigest()[:16]}"


class SharedBudget:
    """One bot token's limits shared by every process that sends with it, counted in Redis.

    `take(chat)` returns once this send fits the overall limit and the chat's (and group's)
    in every process's count, waiting for the oldest send to leave the window otherwise.
    If Redis cannot be reached the process goes on with its own pacing (logged): within the
    limits alone, and over them only if other processes send at the same time.
    """

    def __init__(self, url: str, limits: PlatformLimits, budget: str) -> None:
        from limits import RateLimitItemPerMinute, RateLimitItemPerSecond
        from limits.aio.strategies import MovingWindowRateLimiter
        from limits.storage import storage_from_string

        scheme = url if url.startswith("async+") else f"async+{url}"
        self.storage = storage_from_string(scheme, key_prefix="habitbot")
        self.window = MovingWindowRateLimiter(self.storage)  # type: ignore[arg-type]
        self.limits, self.budget = limits, budget
        per_second = (
            max(1, math.floor(limits.per_second) - SHARED_HEADROOM) if limits.per_second else None
        )
        self._all = RateLimitItemPerSecond(per_second) if per_second else None
        interval = limits.per_chat_interval
        self._chat = RateLimitItemPerSecond(1, max(1, math.ceil(interval))) if interval else None
        minute = limits.group_per_minute
        self._group = RateLimitItemPerMinute(minute) if minute else None
        self._warned = -math.inf

    async def take(self, chat: str, sleep: Callable[[float], Awaitable[None]]) -> None:
        try:
            if self._chat is not None:
                await self._hit(self._chat, f"chat:{chat}", sleep)
            if self._group is not None and self.limits.is_group(chat):
                await self._hit(self._group, f"group:{chat}", sleep)
            if self._all is not None:
                await self._spread(self._all, sleep)
                await self._hit(self._all, "all", sleep)
        except Exception as error:  # Redis down or unreachable: pace on our own meanwhile
            if time.monotonic() - self._warned > 60:
                self._warned = time.monotonic()
                log.warning("shared send budget unavailable (%r); pacing this process alone",
                            error)

    async def _hit(self, item: Any, key: str, sleep: Callable[[float], Awaitable[None]]) -> None:
        while not await self.window.hit(item, self.budget, key):
            reset, _ = await self.window.get_window_stats(item, self.budget, key)
            await sleep(max(0.005, reset - time.time()) + WINDOW_MARGIN)

    async def _spread(self, item: Any, sleep: Callable[[float], Awaitable[None]]) -> None:
        """Wait this process's share of the time until the window frees its oldest place:
        each process paces itself evenly, but several at full pace would fill the window in a
        burst, and a burst reaches the platform unevenly."""
        reset, remaining = await self.window.get_window_stats(item, self.budget, "all")
        if remaining > 0:
            await sleep(min(1.0, max(0.0, reset - time.time()) / (remaining + 1)))

    async def close(self) -> None:
        bridge = getattr(self.storage, "bridge", None)
        storage = getattr(bridge, "storage", None)
        close = getattr(storage, "close", None) or getattr(storage, "aclose", None)
        if callable(close):
            result = close()
            if asyncio.iscoroutine(result):
                await result


class Limiter:
    """Paces sends of one process. Times come from `now` (monotonic seconds) so tests can use a
    fake clock; `sleep` must then move that clock. With a `shared` budget, each send must also
    fit what every other process sending with the same token has sent."""

    def __init__(
        self,
        limits: PlatformLimits,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        shared: SharedBudget | None = None,
    ) -> None:
        self.limits, self.now, self.sleep = limits, now, sleep
        self.shared = shared
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
            if self.shared is not None:
                await self.shared.take(chat, self.sleep)
                now = self.now()
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
