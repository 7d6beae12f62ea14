"""/deleteme: the person and their data go; a nameless row stays as "deleted user".

The row stays because challenges they created (with other people in them) and, later, what
others did with them point at it. Everything personal goes: accounts (so writing to the bot
again starts a new user), habits and check-ins, the ledger (nobody else's balance is a sum
over it), badges, memberships, participations (each challenge's count goes down with it, and
boards, computed from check-ins, no longer list them), codes, queued messages to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.habits.service import forget_loaded
from core.storage.models import (
    Account,
    Badge,
    Challenge,
    FrozenDay,
    Habit,
    LedgerEntry,
    LinkCode,
    LinkTry,
    Membership,
    Outbox,
    Participant,
    User,
)
from core.users.handles import release

DELETED_NAME = "deleted user"


@dataclass(frozen=True)
class Deleted:
    habits: int
    accounts: int


async def delete_user(session: AsyncSession, user: User, now: datetime) -> Deleted:
    await session.flush()
    uid = user.id
    chats = [
        chat
        for chat in await session.scalars(
            select(Account.private_chat).where(Account.user_id == uid)
        )
        if chat
    ]
    left = list(
        await session.scalars(
            delete(Participant)
            .where(Participant.user_id == uid)
            .returning(Participant.challenge_id)
        )
    )
    if left:
        await session.execute(
            update(Challenge)
            .where(Challenge.id.in_(left))
            .values(participant_count=Challenge.participant_count - 1)
        )
    habits = list(
        await session.scalars(delete(Habit).where(Habit.user_id == uid).returning(Habit.id))
    )
    for model in (LedgerEntry, Badge, Membership, FrozenDay, LinkCode, LinkTry):
        await session.execute(delete(model).where(model.user_id == uid))
    if chats:
        await session.execute(
            delete(Outbox).where(
                Outbox.status == "pending", Outbox.chat.in_(chats), Outbox.kind != "answer"
            )
        )
    accounts = list(
        await session.scalars(delete(Account).where(Account.user_id == uid).returning(Account.id))
    )
    if user.handle:  # nobody may pose as them under their old handle for a while
        await release(session, user.handle, None, now)
    await session.execute(
        update(User)
        .where(User.id == uid)
        .values(
            handle=None,
            name=DELETED_NAME,
            timezone="UTC",
            profile_public=False,
            quiet_start=None,
            quiet_end=None,
            nudges=False,
            next_nudge_at=None,
            last_claim_on=None,
            claim_cycle_day=0,
            freezes_checked_on=None,
            deleted_at=now,
        )
    )
    session.expunge_all()
    forget_loaded(session)
    return Deleted(len(habits), len(accounts))
