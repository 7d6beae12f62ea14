"""The freeze tick: just after each local midnight, a user holding freezes has a missed day
covered and is told at once, not only at their next command."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import local_date
from core.outbox import enqueue
from core.rewards.freezes import apply_missed_day_freezes, next_freeze_check
from core.rewards.ledger import balances
from core.storage.models import User
from core.users.accounts import private_addresses

BATCH = 100


async def freeze_tick(session: AsyncSession, now: datetime, limit: int = BATCH) -> int:
    """Users whose local day just ended and who hold freezes: cover a missed day now and tell
    them at once (outbox kind "freeze_used", one per user and day), rather than at their next
    command. Returns how many users were looked at."""
    users = list(
        await session.scalars(
            select(User)
            .where(User.next_freeze_at <= now)
            .order_by(User.next_freeze_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not users:
        return 0
    told: dict[int, list[date]] = {}
    for user in users:
        today = local_date(now, user.timezone)
        used = await apply_missed_day_freezes(session, user, today, now)
        held = (await balances(session, user.id)).freezes
        user.next_freeze_at = next_freeze_check(user.timezone, now) if held > 0 else None
        if used:
            told[user.id] = used
    if told:
        addresses = await private_addresses(session, told)
        for user_id, days in told.items():
            account = addresses.get(user_id)
            if account is None or account.private_chat is None:
                continue  # nowhere to write privately: /wallet still shows what is held
            await enqueue(
                session,
                platform=account.platform,
                chat=account.private_chat,
                kind="freeze_used",
                data={"user_id": user_id, "days": [d.isoformat() for d in days]},
                dedupe_key=f"freeze_used:{user_id}:{days[-1]}",
                now=now,
            )
    return len(users)
