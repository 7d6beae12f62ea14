"""Replies to the bot's messages on chat platforms: a message the bot sent can say "a reply to
me runs this action with the reply's text" (a relayed DM continues its conversation; a
ForceReply prompt). The map is kept per platform chat and message id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.db import insert_ignore
from core.storage.models import ReplyTarget


async def remember(
    session: AsyncSession,
    platform: str,
    chat: str,
    message_ids: list[str],
    action: str,
    user_id: int,
    now: datetime,
) -> None:
    for message_id in message_ids:
        await session.execute(
            insert_ignore(
                session,
                ReplyTarget,
                dict(
                    platform=platform,
                    chat=chat,
                    message_id=message_id,
                    action=action[:200],
                    user_id=user_id,
                    created_at=now,
                ),
            )
        )


async def target(
    session: AsyncSession, platform: str, chat: str, message_id: str
) -> tuple[str, int] | None:
    """The action a reply to this message runs, and whose it is; None for any other message."""
    row = (
        await session.execute(
            select(ReplyTarget.action, ReplyTarget.user_id).where(
                ReplyTarget.platform == platform,
                ReplyTarget.chat == chat,
                ReplyTarget.message_id == message_id,
            )
        )
    ).first()
    return (row.action, row.user_id) if row is not None else None
