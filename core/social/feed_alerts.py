"""An author hears about reactions and comments on a post at most once an hour per post: one
outbox row per post and hour, filled until it goes out at the hour's end (the pattern of the
hourly "new followers" message, core/social/follows.py). `/settings feed_alerts=off` mutes it;
reactions and comments by the author themself are not news."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.outbox import enqueue
from core.storage.db import prepared
from core.storage.models import Outbox, Post, User
from core.users.accounts import private_addresses

KIND = "feed_news"
NAMES = 5  # commenters named; the rest are counted


def _pending(dialect: str) -> Any:
    return (
        select(Outbox)
        .where(Outbox.dedupe_key == bindparam("key"), Outbox.status == "pending")
        .with_for_update()
    )


def _key(post_id: int, now: datetime) -> str:
    return f"{KIND}:{post_id}:{now:%Y%m%d%H}"


async def tell_author(
    session: AsyncSession,
    post: Post,
    actor: str,
    now: datetime,
    *,
    reaction: str | None = None,
    undo: bool = False,
    commented: bool = False,
) -> None:
    key = _key(post.id, now)
    for _ in range(2):  # a row inserted by a racing tap is found on the second pass
        row = await session.scalar(prepared(session, _pending), {"key": key})
        if row is not None:
            data = _added(dict(row.data), actor, reaction, undo, commented)
            if not data.get("reactions") and not data.get("comments"):
                await session.delete(row)  # every reaction taken back: nothing to tell
            else:
                row.data = data
            return
        if undo:
            return  # nothing queued to take it out of
        wants = await session.scalar(
            select(User.feed_alerts).where(User.id == post.author_id, User.deleted_at.is_(None))
        )
        address = (await private_addresses(session, [post.author_id])).get(post.author_id)
        if not wants or address is None or address.private_chat is None:
            return
        excerpt = (post.text or "your activity")[:40]
        data = _added(
            {"user_id": post.author_id, "post_id": post.id, "excerpt": excerpt},
            actor, reaction, undo, commented,
        )  # fmt: skip
        hour = now.replace(minute=0, second=0, microsecond=0)
        if await enqueue(
            session,
            platform=address.platform,
            chat=address.private_chat,
            kind=KIND,
            data=data,
            dedupe_key=key,
            now=now,
            not_before=hour + timedelta(hours=1),
        ):
            return


def _added(
    data: dict[str, object], actor: str, reaction: str | None, undo: bool, commented: bool
) -> dict[str, object]:
    if reaction is not None:
        reactions = dict(data.get("reactions") or {})  # type: ignore[call-overload]
        reactions[reaction] = max(0, int(reactions.get(reaction, 0)) + (-1 if undo else 1))
        data["reactions"] = {k: v for k, v in reactions.items() if v}
    if commented:
        names = [n for n in data.get("commenters") or [] if n != actor]  # type: ignore[attr-defined]
        data["commenters"] = [*names, actor][-NAMES:]
        data["comments"] = int(data.get("comments") or 0) + 1  # type: ignore[call-overload]
    return data
