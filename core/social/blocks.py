"""Blocking: neither person sees the other anywhere (profiles, lists, discovery; later the
feed and messages). The blocked person is not told: to them the blocker does not exist."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, InvalidInput, NotFound
from core.social.follows import drop_follows_between, untell
from core.social.lookup import Person
from core.storage.db import insert_ignore
from core.storage.models import Block, User


async def block(session: AsyncSession, viewer: User, person: Person, now: datetime) -> None:
    if person.is_self:
        raise InvalidInput("You can't block yourself.")
    if person.i_blocked:
        raise Conflict(f"You blocked @{person.handle} already.")
    inserted = await session.scalar(
        insert_ignore(
            session, Block, dict(blocker_id=viewer.id, blocked_id=person.user.id, created_at=now)
        ).returning(Block.blocked_id)
    )
    if inserted is None:  # two taps at once
        raise Conflict(f"You blocked @{person.handle} already.")
    await drop_follows_between(session, viewer.id, person.user.id)
    # Nor does an hourly "new followers" message still waiting name either to the other.
    await untell(session, viewer.id, person.handle, now)
    await untell(session, person.user.id, viewer.handle or "", now)


async def unblock(session: AsyncSession, viewer: User, person: Person) -> None:
    if not person.i_blocked:
        raise NotFound(f"You have not blocked @{person.handle}.")
    await session.execute(
        delete(Block).where(Block.blocker_id == viewer.id, Block.blocked_id == person.user.id)
    )


async def blocked_users(session: AsyncSession, user_id: int) -> list[User]:
    return list(
        await session.scalars(
            select(User)
            .join(Block, Block.blocked_id == User.id)
            .where(Block.blocker_id == user_id)
            .order_by(Block.created_at.desc(), User.id)
        )
    )
