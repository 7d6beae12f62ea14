"""Groups: a Telegram group, a Discord server or a console group, and who belongs to it."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import and_, delete, func, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.habits.reminders import next_reminder_at
from core.habits.schedule import DAILY
from core.storage.db import insert_ignore
from core.storage.models import Challenge, Group, Membership, Outbox, User
from core.text import storable


async def enter_group(
    session: AsyncSession,
    platform: str,
    external_id: str,
    title: str,
    user_id: int,
    now: datetime,
    channel: str | None = None,
) -> Group:
    """The group a command came from, created on first use; the caller becomes a member."""
    title = storable(title)[:128]
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
                    title=title or external_id[:128],
                    announce_chat=channel or external_id,
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
    if group.unreachable:
        group.unreachable = False  # someone used the bot there: it is back in the group
    if group.announce_chat is None and channel:
        group.announce_chat = channel  # the first channel used, until an admin picks one
    if title and group.title != title:
        group.title = title
    return group


async def update_group(
    session: AsyncSession,
    group: Group,
    *,
    now: datetime,
    announce_chat: str | None = None,
    digest: list[str] | None = None,
    timezone: str | None = None,
) -> Group:
    """Admin settings; the adapter proved the caller is an admin, the command checked it."""
    if announce_chat is not None:
        group.announce_chat, group.unreachable = announce_chat, False
    if timezone is not None:
        group.timezone = timezone
    if digest is not None:
        group.digest_at = (int(digest[0][:2]) * 60 + int(digest[0][3:])) if digest else None
    group.next_digest_at = next_digest_at(group, now)
    return group


def next_digest_at(group: Group, now: datetime) -> datetime | None:
    if group.digest_at is None:
        return None
    at = time(group.digest_at // 60, group.digest_at % 60)
    return next_reminder_at(at.strftime("%H:%M"), DAILY, group.timezone, now)


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


async def move_group(session: AsyncSession, platform: str, old_id: str, new_id: str) -> bool:
    """A chat that changed its id (a Telegram group upgraded to a supergroup) keeps its data.

    Returns False when there was nothing to move. If the new id was already used (a command
    raced in from the new chat), that fresh row's members and challenges fold into the old one.
    """
    old = await session.scalar(
        select(Group).where(Group.platform == platform, Group.external_id == old_id)
    )
    if old is None:
        return False
    new_row_id = await session.scalar(
        select(Group.id).where(Group.platform == platform, Group.external_id == new_id)
    )
    if new_row_id is not None:
        insert = (pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert)(
            Membership
        )
        await session.execute(
            insert.from_select(
                ["group_id", "user_id", "joined_at"],
                select(literal(old.id), Membership.user_id, Membership.joined_at).where(
                    Membership.group_id == new_row_id
                ),
            ).on_conflict_do_nothing()
        )
        await session.execute(
            update(Challenge).where(Challenge.group_id == new_row_id).values(group_id=old.id)
        )
        await session.execute(delete(Group).where(Group.id == new_row_id))
    if old.announce_chat == old_id:
        old.announce_chat = new_id
    old.external_id = new_id
    old.unreachable = False
    # Messages already queued for the old id would bounce; point them at the new one.
    await session.execute(
        update(Outbox)
        .where(Outbox.platform == platform, Outbox.chat == old_id, Outbox.status == "pending")
        .values(chat=new_id)
    )
    return True


async def set_group_reachable(
    session: AsyncSession, platform: str, external_id: str, reachable: bool
) -> bool:
    """Record whether the bot can still write to a group (False: it was removed from it)."""
    result = await session.execute(
        update(Group)
        .where(Group.platform == platform, Group.external_id == external_id)
        .values(unreachable=not reachable)
    )
    return bool(getattr(result, "rowcount", 0))
