"""Rewards use cases: the daily streak claim, streak freezes, badges."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import local_now
from core.errors import Conflict, InvalidInput
from core.rewards.badges import streak_badges
from core.rewards.claims import format_gems, gems_for_cycle_day, next_cycle_day
from core.rewards.claims import until_next_local_midnight as until_midnight
from core.rewards.freezes import next_freeze_check
from core.rewards.ledger import FREEZE_PRICE_GEMS, MAX_FREEZES, Balances, balances, pay
from core.storage.db import insert_ignore
from core.storage.models import Badge, CheckIn, Habit, LedgerEntry, User


@dataclass(frozen=True)
class ClaimResult:
    cycle_day: int
    gems: int
    balances: Balances


def _wait(now: datetime, tz: str) -> str:
    left = until_midnight(local_now(now, tz))
    hours, rest = divmod(int(left.total_seconds()) // 60, 60)
    return f"{hours}h {rest:02d}m"


async def claim(session: AsyncSession, user: User, today: date, now: datetime) -> ClaimResult:
    if user.last_claim_on is not None and user.last_claim_on >= today:
        raise Conflict(f"Already claimed today. Next claim in {_wait(now, user.timezone)}.")
    checked_in = await session.scalar(
        select(
            exists().where(
                CheckIn.habit_id == Habit.id, Habit.user_id == user.id, CheckIn.local_date == today
            )
        )
    )
    if not checked_in:
        raise InvalidInput("Check in a habit today first (/done), then claim your streak.")
    day = next_cycle_day(user.last_claim_on, user.claim_cycle_day, today)
    gems = gems_for_cycle_day(day)
    # The ref is unique per user and local date: a second claim racing in books nothing.
    if not await pay(session, user.id, "gem", gems, "claim", claim_ref(user.id, today), now):
        raise Conflict(f"Already claimed today. Next claim in {_wait(now, user.timezone)}.")
    user.last_claim_on, user.claim_cycle_day = today, day
    return ClaimResult(day, gems, await balances(session, user.id))


def claim_ref(user_id: int, day: date) -> str:
    return f"claim:{user_id}:{day}"


async def claimed_on(session: AsyncSession, user: User, day: date) -> bool:
    """Whether gems were claimed on this local date (the claim a check-in that day backs)."""
    if user.last_claim_on == day:
        return True
    found = await session.scalar(
        select(LedgerEntry.id).where(
            LedgerEntry.user_id == user.id, LedgerEntry.ref == claim_ref(user.id, day)
        )
    )
    return found is not None


async def buy_freeze(session: AsyncSession, user: User, now: datetime) -> Balances:
    # Lock the user row (PostgreSQL) so two purchases cannot both spend the same gems.
    await session.execute(select(User.id).where(User.id == user.id).with_for_update())
    current = await balances(session, user.id)
    if current.freezes >= MAX_FREEZES:
        raise InvalidInput(f"You already hold {MAX_FREEZES} streak freezes, the most allowed.")
    if current.gems < FREEZE_PRICE_GEMS:
        raise InvalidInput(
            f"A streak freeze costs {format_gems(FREEZE_PRICE_GEMS)} gems; "
            f"you have {format_gems(current.gems)}. Claim daily with /claim."
        )
    ref = f"freeze-buy:{user.id}:{now.isoformat()}:{current.freezes}"
    await pay(session, user.id, "gem", -FREEZE_PRICE_GEMS, "freeze_buy", f"{ref}:gem", now)
    await pay(session, user.id, "freeze", 1, "freeze_buy", f"{ref}:freeze", now)
    if user.next_freeze_at is None:  # from now on each local midnight checks for a missed day
        user.next_freeze_at = next_freeze_check(user.timezone, now)
    return Balances(current.coins, current.gems - FREEZE_PRICE_GEMS, current.freezes + 1)


async def award_badges(
    session: AsyncSession, user_id: int, codes: list[str], now: datetime
) -> list[str]:
    """Give badges not yet held; returns the new ones (each badge is given once)."""
    if not codes:
        return []
    return list(
        await session.scalars(
            insert_ignore(
                session,
                Badge,
                [dict(user_id=user_id, code=c, awarded_at=now) for c in codes],
            ).returning(Badge.code)
        )
    )


async def award_streak_badges(
    session: AsyncSession, user_id: int, streak: int, now: datetime
) -> list[str]:
    """A streak grows one period at a time, so only the milestone just reached can be new;
    below and between milestones this costs no statement."""
    reached = streak_badges(streak)
    if not reached or reached[-1] != f"streak_{streak}":
        return []
    return await award_badges(session, user_id, reached, now)


async def user_badges(session: AsyncSession, user_id: int) -> list[Badge]:
    return list(
        await session.scalars(
            select(Badge).where(Badge.user_id == user_id).order_by(Badge.awarded_at, Badge.id)
        )
    )
