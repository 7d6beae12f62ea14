"""The in-process rate limiter on a fake clock: Telegram's 30/s overall, 1/s per chat and
20/min per group; 429 blocks; and the retry backoff."""

from __future__ import annotations

import itertools

import pytest

from scheduler.dispatcher import RetryPolicy
from scheduler.limits import DISCORD, TELEGRAM, Limiter, limits_for


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_overall_pace_never_exceeds_30_in_any_second() -> None:
    clock = FakeTime()
    limiter = Limiter(TELEGRAM, clock, clock.sleep)
    starts = []
    for i in range(300):
        await limiter.acquire(str(i))  # 300 different chats
        starts.append(clock.now)
    assert 29 < 299 / (starts[-1] - starts[0]) <= 30
    for a, b in zip(starts, starts[30:], strict=False):
        assert b - a > 1.0  # the 31st send is over a second after the 1st


async def test_lateness_is_caught_up_by_at_most_half_a_slot() -> None:
    clock = FakeTime()
    limiter = Limiter(TELEGRAM, clock, clock.sleep)
    await limiter.acquire("1")
    clock.now += 0.5  # idle, or the loop was busy
    await limiter.acquire("2")
    second = clock.now
    await limiter.acquire("3")
    assert clock.now - second == pytest.approx(1 / 60)  # no burst after the pause
    await limiter.acquire("4")
    assert clock.now - second == pytest.approx(1 / 60 + 1 / 30)


def test_one_message_per_second_per_chat() -> None:
    clock = FakeTime()
    limiter = Limiter(TELEGRAM, clock, clock.sleep)
    limiter._note_chat("42", clock.now)
    assert limiter.chat_wait("42") == pytest.approx(1.0)
    assert limiter.chat_wait("43") == 0
    clock.now += 0.4
    assert limiter.chat_wait("42") == pytest.approx(0.6)


async def test_twenty_per_minute_per_group() -> None:
    clock = FakeTime()
    limiter = Limiter(TELEGRAM, clock, clock.sleep)
    sent = []
    while len(sent) < 25:
        await clock.sleep(limiter.chat_wait("-100123"))
        await limiter.acquire("-100123")
        sent.append(clock.now)
    assert sent[19] - sent[0] == pytest.approx(19.0)  # 1/s as for any chat ...
    assert sent[20] - sent[0] == pytest.approx(60.0)  # ... but the 21st waits for the minute
    for a, b in zip(sent, sent[20:], strict=False):
        assert b - a >= 60.0 - 1e-9


def test_blocks_from_retry_after() -> None:
    clock = FakeTime()
    limiter = Limiter(TELEGRAM, clock, clock.sleep)
    limiter.block_chat("42", 7)
    assert limiter.chat_wait("42") == pytest.approx(7) and limiter.chat_wait("1") == 0
    limiter.block_all(3)
    assert limiter.global_wait() == pytest.approx(3)
    clock.now += 3
    assert limiter.global_wait() == 0 and limiter.chat_wait("42") == pytest.approx(4)


def test_platform_limits() -> None:
    assert limits_for("telegram") is TELEGRAM and limits_for("discord") is DISCORD
    assert TELEGRAM.is_group("-1001") and not TELEGRAM.is_group("1001")
    assert limits_for("console").per_second is None


def test_backoff_doubles_up_to_a_cap() -> None:
    policy = RetryPolicy(base=2, cap=30)
    for attempts, top in zip(itertools.count(1), (2, 4, 8, 16, 30, 30), strict=False):
        assert 0.8 * top <= policy.delay(attempts) <= top
