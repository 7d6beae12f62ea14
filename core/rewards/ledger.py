"""The ledger: every coin, gem (in hundredths) and streak freeze is an entry; balances are sums.

Each entry has a unique `ref` naming its cause, so paying the same cause twice is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from core.storage.db import insert_ignore, insert_ignore_into, params, prepared
from core.storage.models import LedgerEntry

COINS_PER_CHECKIN = 10
COINS_TARGET_BONUS = 5
COINS_CHALLENGE_FINISHED = 50
COINS_CHALLENGE_WON = 100
FREEZE_PRICE_GEMS = 200
MAX_FREEZES = 3


@dataclass(frozen=True)
class Balances:
    coins: int
    gems: int  # hundredths
    freezes: int


async def pay(
    session: AsyncSession,
    user_id: int,
    currency: str,
    amount: int,
    reason: str,
    ref: str,
    now: datetime,
) -> int:
    """Add an entry; returns `amount`, or 0 when this ref was already booked."""
    booked = await session.scalar(
        prepared(session, _insert_entry),
        dict(
            user_id=user_id,
            currency=currency,
            amount=amount,
            reason=reason,
            ref=ref,
            created_at=now,
        ),
    )
    return amount if booked is not None else 0


def _insert_entry(dialect: str) -> ReturningInsert[tuple[int]]:
    """Prepared once: every check-in pays through here."""
    ledger = LedgerEntry.__table__
    columns = ("user_id", "currency", "amount", "reason", "ref", "created_at")
    return (
        insert_ignore_into(dialect, ledger)
        .values(**params(ledger, *columns))
        .returning(ledger.c.id)
    )


async def reverse(session: AsyncSession, user_id: int, refs: list[str], now: datetime) -> int:
    """Book counter-entries for these refs (an undone check-in gives its coins back); returns
    the coins taken back."""
    rows = await session.execute(
        select(LedgerEntry.currency, LedgerEntry.amount, LedgerEntry.ref).where(
            LedgerEntry.user_id == user_id, LedgerEntry.ref.in_(refs)
        )
    )
    entries = [
        dict(
            user_id=user_id,
            currency=currency,
            amount=-amount,
            reason="undo",
            ref=f"undo:{ref}",
            created_at=now,
        )
        for currency, amount, ref in rows
    ]
    if not entries:
        return 0
    booked = await session.execute(
        insert_ignore(session, LedgerEntry, entries).returning(
            LedgerEntry.currency, LedgerEntry.amount
        )
    )
    return -sum(amount for currency, amount in booked if currency == "coin")


async def balances(session: AsyncSession, user_id: int) -> Balances:
    coins, gems, freezes = (
        await session.execute(prepared(session, _balances), {"user_id": user_id})
    ).one()
    return Balances(int(coins), int(gems), int(freezes))


def _balances(_dialect: str) -> Select[tuple[int, int, int]]:
    """Prepared once: the first command of each user's day reads it (the freeze check)."""

    def total(currency: str) -> Any:
        return func.coalesce(
            func.sum(case((LedgerEntry.currency == currency, LedgerEntry.amount), else_=0)), 0
        )

    return select(total("coin"), total("gem"), total("freeze")).where(
        LedgerEntry.user_id == bindparam("user_id")
    )
