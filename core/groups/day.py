"""A group's day message: one message a day saying who has checked in, kept up to date by
editing it. A busy group's check-ins are acknowledged without a message each (Telegram lets a
bot send about 20 a minute to a group), and the group still sees everyone's progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.groups.digest import checked_in
from core.storage.models import Group


@dataclass(frozen=True)
class DayMessage:
    data: dict[str, Any]  # for the "group_day" renderer
    day: date
    edit: str | None  # the message to edit; None: send today's first one (this caller won it)


async def day_message(
    session: AsyncSession, platform: str, chat: str, now: datetime
) -> DayMessage | None:
    """What the group's day message should say now, and whether to edit or send it. None when
    there is nothing to do: not a group we know, or another process is sending today's first."""
    group = await session.scalar(
        select(Group).where(Group.platform == platform, Group.external_id == chat)
    )
    if group is None or group.unreachable:
        return None
    day = now.astimezone(ZoneInfo(group.timezone)).date()
    names, count = await checked_in(session, group, day)
    data = {"group": group.title, "date": day.isoformat(), "names": names, "count": count}
    if group.day_message_on == day:
        return DayMessage(data, day, group.day_message) if group.day_message else None
    won = await session.scalar(  # two processes may get here at once: one sends
        update(Group)
        .where(
            Group.id == group.id,
            (Group.day_message_on.is_(None)) | (Group.day_message_on != day),
        )
        .values(day_message_on=day, day_message=None)
        .returning(Group.id)
        .execution_options(synchronize_session=False)
    )
    return DayMessage(data, day, None) if won is not None else None


async def sent_day_message(
    session: AsyncSession, platform: str, chat: str, day: date, message_id: str | None
) -> None:
    """Today's first day message went out as `message_id`; None: it failed, let the next
    check-in try again."""
    await session.execute(
        update(Group)
        .where(Group.platform == platform, Group.external_id == chat, Group.day_message_on == day)
        .values(day_message=message_id, day_message_on=day if message_id else None)
        .execution_options(synchronize_session=False)
    )
