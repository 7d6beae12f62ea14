"""Groups: a Telegram group, a Discord server or a console group, and who belongs to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.db import insert_ignore
from core.storage.models import Group, Membership, User


async def enter_group(
    session: AsyncSession, platform: str, external_id: str, title: str, user_id: int, now: datetime
) -> Group:
    """The group a command came from, created on first use; the caller becomes a member."""
    row = (
        await session.execute(
            select(Group, Membership.id)
            .outerjoin(
                Membership, and_(Membership.group_id == Group.id, Membership.user_id == user_id)
            )
            .where(Group.platform == platform, Group.external_id == external_id)
        )
    ).first()
    if row is None:
        await session.execute(
            insert_ignore(
                session,
                Group,
                dict(
                    platform=platform,
                    external_id=external_id,
                    title=(title or external_id)[:128],
                    announce_chat=external_id if platform != "discord" else None,
                    timezone="UTC",
                    unreachable=False,
                    created_at=now,
                ),
            )
        )
        group = await session.scalar(
            select(Group).where(Group.platform == platform, Group.external_id == external_id)
        )
        assert group is not None
        member = None
    else:
        group, member = row
    if member is None:
        await join_group(session, group.id, user_id, now)
    if title and group.title != title[:128]:
        group.title = title[:128]
    return group


async def join_group(session: AsyncSession, group_id: int, user_id: int, now: datetime) -> bool:
    inserted = await session.scalar(
        insert_ignore(
            session, Membership, dict(group_id=group_id, user_id=user_id, joined_at=now)
        ).returning(Membership.id)
    )
    return inserted is not None


async def members(session: AsyncSession, group_id: int, limit: int = 20) -> tuple[int, list[str]]:
    """The member count and the first few names, in one round trip each."""
    count = await session.scalar(
        select(func.count()).select_from(Membership).where(Membership.group_id == group_id)
    )
    names = await session.scalars(
        select(User.name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group_id)
        .order_by(Membership.joined_at)
        .limit(limit)
    )
    return count or 0, list(names)
