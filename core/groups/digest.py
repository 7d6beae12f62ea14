"""The daily group digest: who checked in today, and each active challenge's progress."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.challenges.calendar import challenge_today
from core.challenges.leaderboard import leaderboard
from core.challenges.lifecycle import board_data
from core.groups.service import next_digest_at
from core.outbox import enqueue
from core.storage.models import Challenge, CheckIn, Group, Habit, Membership, User


async def digest_tick(session: AsyncSession, now: datetime, batch: int = 100) -> int:
    """Queue the digest of every group whose digest time has come; returns how many."""
    groups = list(
        await session.scalars(
            select(Group)
            .where(Group.next_digest_at.is_not(None), Group.next_digest_at <= now)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    )
    for group in groups:
        day = now.astimezone(ZoneInfo(group.timezone)).date()
        if group.announce_chat and not group.unreachable:
            await enqueue(
                session,
                platform=group.platform,
                chat=group.announce_chat,
                kind="group_digest",
                data=await digest_data(session, group, now),
                dedupe_key=f"group_digest:{group.id}:{day}",
                now=now,
            )
        group.next_digest_at = next_digest_at(group, now)
    return len(groups)


async def checked_in(session: AsyncSession, group: Group, day: date) -> tuple[list[str], int]:
    """Up to 15 names of members who checked in on `day`, and how many did."""
    who = (
        select(User.name)
        .join(Membership, Membership.user_id == User.id)
        .join(Habit, Habit.user_id == User.id)
        .join(CheckIn, (CheckIn.habit_id == Habit.id) & (CheckIn.local_date == day))
        .where(Membership.group_id == group.id)
        .group_by(User.id, User.name)
    )
    names = list(await session.scalars(who.order_by(User.name).limit(15)))
    if len(names) < 15:
        return names, len(names)
    count = await session.scalar(
        select(func.count(distinct(Habit.user_id)))
        .join(Membership, Membership.user_id == Habit.user_id)
        .join(CheckIn, (CheckIn.habit_id == Habit.id) & (CheckIn.local_date == day))
        .where(Membership.group_id == group.id)
    )
    return names, int(count or 0)


async def digest_data(session: AsyncSession, group: Group, now: datetime) -> dict[str, Any]:
    day = now.astimezone(ZoneInfo(group.timezone)).date()
    names, count = await checked_in(session, group, day)
    challenges = await session.scalars(
        select(Challenge).where(Challenge.group_id == group.id, Challenge.status == "active")
    )
    boards = []
    for challenge in challenges:
        board = await leaderboard(session, challenge, challenge_today(challenge, now), top=3)
        boards.append(board_data(challenge, board))
    return {
        "group": group.title,
        "date": day.isoformat(),
        "checked_in": names,
        "checked_in_count": count,
        "challenges": boards,
    }
