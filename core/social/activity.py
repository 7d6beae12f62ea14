"""Activity items, made automatically: streak milestones, challenges joined, finished and won.

At most one item per person and local day: the first event of the day makes it, later ones
fold into it (a unique index on (author, day) for activity items settles two at once).
`/settings activity=off` stops them. Call sites are one line each (`note(...)`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import local_date
from core.storage.db import insert_ignore
from core.storage.models import Post, User

MAX_EVENTS = 12  # a busy day keeps its latest events


async def note(session: AsyncSession, user_id: int, event: dict[str, Any], now: datetime) -> None:
    """Add `event` ({"kind": "streak", "days": 7, "habit": "Read"} ...) to today's item."""
    row = (
        await session.execute(
            select(User.timezone, User.activity).where(
                User.id == user_id, User.deleted_at.is_(None)
            )
        )
    ).first()
    if row is None or not row.activity:
        return
    day = local_date(now, row.timezone)
    for _ in range(2):  # an item inserted by a racing event is found on the second pass
        item = await session.scalar(
            select(Post)
            .where(Post.author_id == user_id, Post.kind == "activity", Post.day == day)
            .with_for_update()
        )
        if item is not None:
            events = list((item.data or {}).get("events", []))
            if event not in events:
                item.data = {"events": [*events, event][-MAX_EVENTS:]}
            return
        inserted = await session.scalar(
            insert_ignore(
                session,
                Post,
                dict(
                    author_id=user_id,
                    kind="activity",
                    day=day,
                    data={"events": [event]},
                    created_at=now,
                ),
            ).returning(Post.id)
        )
        if inserted is not None:
            return


async def streak_milestones(
    session: AsyncSession, user_id: int, habit: str | None, badges: list[str], now: datetime
) -> None:
    """The streak badges a check-in just earned, as one event (the longest); a private
    habit is not named."""
    days = [int(b.split("_", 1)[1]) for b in badges if b.startswith("streak_")]
    if days:
        await note(
            session, user_id, {"kind": "streak", "days": max(days), "habit": habit or ""}, now
        )


async def challenge_event(
    session: AsyncSession, user_id: int, kind: str, title: str, private: bool, now: datetime
) -> None:
    """Joined, finished or won a challenge; an invite-only challenge is nobody's business."""
    if not private:
        await note(session, user_id, {"kind": kind, "challenge": title}, now)
