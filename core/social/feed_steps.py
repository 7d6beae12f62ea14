"""The feed's steps in an account merge and a deletion (core/users/merge.py, deletion.py).
Counts on post rows stay the number of reaction and comment rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.social.reactions import EMOJI
from core.storage.models import Comment, Post, Reaction


async def _uncount(session: AsyncSession, reactions: Any, comments: Any) -> None:
    """Take the reactions and comments that `reactions` / `comments` (conditions) select out
    of their posts' counts, before they are deleted."""
    for code, (_, column) in EMOJI.items():
        gone = (
            select(func.count())
            .where(Reaction.post_id == Post.id, Reaction.emoji == code, reactions)
            .scalar_subquery()
        )
        posts = select(Reaction.post_id).where(Reaction.emoji == code, reactions)
        await session.execute(
            update(Post)
            .where(Post.id.in_(posts))
            .values({column: getattr(Post, column) - gone})
            .execution_options(synchronize_session=False)
        )
    if comments is not None:
        gone = select(func.count()).where(Comment.post_id == Post.id, comments).scalar_subquery()
        await session.execute(
            update(Post)
            .where(Post.id.in_(select(Comment.post_id).where(comments)))
            .values(comments=Post.comments - gone)
            .execution_options(synchronize_session=False)
        )


async def delete_feed(session: AsyncSession, user_id: int) -> None:
    """A deleted user's posts and activity go (their reactions and comments with them), and
    so do their reactions and comments on others' posts."""
    await session.execute(delete(Post).where(Post.author_id == user_id))
    await _uncount(session, Reaction.user_id == user_id, Comment.author_id == user_id)
    await session.execute(delete(Reaction).where(Reaction.user_id == user_id))
    await session.execute(delete(Comment).where(Comment.author_id == user_id))


async def merge_feed(session: AsyncSession, keep_id: int, gone_id: int) -> None:
    """Posts and comments move; a reaction both accounts gave to a post counts once; of two
    activity items on the same day, the kept account's stays."""
    kept = aliased(Post)
    same_day = select(kept.day).where(kept.author_id == keep_id, kept.kind == "activity")
    await session.execute(
        delete(Post).where(
            Post.author_id == gone_id, Post.kind == "activity", Post.day.in_(same_day)
        )
    )
    await session.execute(update(Post).where(Post.author_id == gone_id).values(author_id=keep_id))
    await session.execute(
        update(Comment).where(Comment.author_id == gone_id).values(author_id=keep_id)
    )
    mine = aliased(Reaction)
    both = and_(
        Reaction.user_id == gone_id,
        Reaction.post_id.in_(
            select(mine.post_id).where(mine.user_id == keep_id, mine.emoji == Reaction.emoji)
        ),
    )
    await _uncount(session, both, None)
    await session.execute(delete(Reaction).where(both))
    await session.execute(
        update(Reaction)
        .where(Reaction.user_id == gone_id)
        .values(user_id=keep_id)
        .execution_options(synchronize_session=False)
    )
