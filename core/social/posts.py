"""Posts and comments: who may write, read and delete them.

Who sees a post (the feed's rule too, core/social/feed.py): a post made in a group only that
group's members; any other item its author, their accepted followers and, when the profile is
public, anyone who reaches it (the author's groups' feeds, a shared link). Blocked people see
nothing of each other; deleted users' items are gone with them (core/users/deletion.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Forbidden, InvalidInput, NotFound
from core.social.feed_alerts import tell_author
from core.storage.db import prepared
from core.storage.models import Block, Comment, Follow, Group, Membership, Post, User
from core.text import unstorable

MAX_POST = 1000
COMMENTS_PAGE = 10
_DROPPED = re.compile(r"[\x00\ud800-\udfff]")
_CONTROL = re.compile(r"[\x01-\x08\x0b-\x1f\x7f]")


def clean_text(text: str, what: str = "A post") -> str:
    """Text as stored: NUL and lone surrogates dropped, other control characters as spaces,
    spaces collapsed within lines, at most one blank line in a row. Refuses empty or too long."""
    if len(text) > MAX_POST * 4:  # not worth cleaning: refused with the limit as it is
        raise InvalidInput(f"{what} takes at most {MAX_POST:,} characters ({len(text):,} given).")
    if unstorable(text):
        text = _DROPPED.sub("", text)
    lines = [" ".join(_CONTROL.sub(" ", line).split()) for line in text.split("\n")]
    kept: list[str] = []
    for line in lines:
        if line or (kept and kept[-1]):
            kept.append(line)
    clean = "\n".join(kept).strip()
    if not clean:
        raise InvalidInput(f"{what} needs some text.")
    if len(clean) > MAX_POST:
        raise InvalidInput(f"{what} takes at most {MAX_POST:,} characters ({len(clean):,} given).")
    return clean


async def publish(
    session: AsyncSession, author: User, text: str, group: Group | None, now: datetime
) -> Post:
    """A post to the author's followers and groups, or, made in a group, to that group only."""
    post = Post(
        author_id=author.id,
        group_id=group.id if group is not None else None,
        kind="post",
        text=clean_text(text),
        created_at=now,
    )
    session.add(post)
    await session.flush()
    return post


def _hidden(viewer_id: Any) -> Any:
    """A block between the viewer and the post's author, either way."""
    return exists().where(
        ((Block.blocker_id == viewer_id) & (Block.blocked_id == Post.author_id))
        | ((Block.blocked_id == viewer_id) & (Block.blocker_id == Post.author_id))
    )


def may_see(viewer_id: Any) -> Any:
    """The SQL condition for one post the viewer may see (by id, not in a feed)."""
    member = exists().where(Membership.group_id == Post.group_id, Membership.user_id == viewer_id)
    follows = exists().where(
        Follow.follower_id == viewer_id,
        Follow.followee_id == Post.author_id,
        Follow.status == "accepted",
    )
    personal = (Post.author_id == viewer_id) | User.profile_public | follows
    return (
        ~_hidden(viewer_id)
        & User.deleted_at.is_(None)
        & ((Post.group_id.is_not(None) & member) | (Post.group_id.is_(None) & personal))
    )


@dataclass(frozen=True)
class Shown:
    post: Post
    author: User


def _visible_post(dialect: str) -> Any:
    viewer = bindparam("viewer", type_=Post.author_id.type)
    return (
        select(Post, User)
        .join(User, User.id == Post.author_id)
        .where(Post.id == bindparam("post", type_=Post.id.type), may_see(viewer))
    )


async def visible_post(session: AsyncSession, viewer_id: int, post_id: int) -> Shown:
    """The post with its author, if the viewer may see it; else NotFound, the same words
    whether it never existed, was deleted or is hidden from them. One prepared statement:
    reactions run it on every tap."""
    row = (
        await session.execute(
            prepared(session, _visible_post), {"viewer": viewer_id, "post": post_id}
        )
    ).first()
    if row is None:
        raise NotFound(f"There is no post #{post_id} (or it was deleted).")
    return Shown(row[0], row[1])


def _may_moderate(post: Post, group: Group | None, is_admin: bool) -> bool:
    return is_admin and group is not None and post.group_id == group.id


async def delete_post(
    session: AsyncSession, viewer: User, post_id: int, group: Group | None, is_admin: bool
) -> Post:
    """Authors delete their own posts, group admins anything in their group's feed. The post's
    reactions and comments go with it."""
    shown = await visible_post(session, viewer.id, post_id)
    post = shown.post
    if post.author_id != viewer.id and not _may_moderate(post, group, is_admin):
        raise Forbidden("You can delete only your own posts (group admins: their group's).")
    await session.execute(delete(Post).where(Post.id == post.id))
    return post


async def add_comment(
    session: AsyncSession, viewer: User, post_id: int, text: str, now: datetime
) -> tuple[Shown, Comment]:
    clean = clean_text(text, "A comment")
    shown = await visible_post(session, viewer.id, post_id)
    comment = Comment(post_id=post_id, author_id=viewer.id, text=clean, created_at=now)
    session.add(comment)
    await session.execute(update(Post).where(Post.id == post_id).values(comments=Post.comments + 1))
    await session.flush()
    if shown.post.author_id != viewer.id:
        await tell_author(session, shown.post, viewer.handle or "", now, commented=True)
    return shown, comment


async def delete_comment(
    session: AsyncSession, viewer: User, comment_id: int, group: Group | None, is_admin: bool
) -> Comment:
    """Authors delete their own comments, group admins any on their group's posts."""
    row = (
        await session.execute(
            select(Comment, Post)
            .join(Post, Post.id == Comment.post_id)
            .join(User, User.id == Post.author_id)
            .where(Comment.id == comment_id, may_see(viewer.id))
        )
    ).first()
    if row is None:
        raise NotFound(f"There is no comment #{comment_id} (or it was deleted).")
    comment, post = row
    if comment.author_id != viewer.id and not _may_moderate(post, group, is_admin):
        raise Forbidden("You can delete only your own comments (group admins: their group's).")
    deleted = await session.execute(delete(Comment).where(Comment.id == comment_id))
    if getattr(deleted, "rowcount", 1):  # a racing delete took it: count it once
        await session.execute(
            update(Post).where(Post.id == post.id).values(comments=Post.comments - 1)
        )
    return comment


@dataclass(frozen=True)
class CommentPage:
    items: list[tuple[Comment, User]]
    page: int
    pages: int


async def comment_page(session: AsyncSession, viewer_id: int, post: Post, page: int) -> CommentPage:
    """Oldest first, 10 a page; comments by someone the viewer is blocked from are left out.
    Pages follow the count kept on the post."""
    pages = max(1, (post.comments + COMMENTS_PAGE - 1) // COMMENTS_PAGE)
    blocked = exists().where(
        ((Block.blocker_id == viewer_id) & (Block.blocked_id == Comment.author_id))
        | ((Block.blocked_id == viewer_id) & (Block.blocker_id == Comment.author_id))
    )
    rows = await session.execute(
        select(Comment, User)
        .join(User, User.id == Comment.author_id)
        .where(Comment.post_id == post.id, ~blocked, User.deleted_at.is_(None))
        .order_by(Comment.created_at, Comment.id)
        .limit(COMMENTS_PAGE)
        .offset((page - 1) * COMMENTS_PAGE)
    )
    return CommentPage([(c, u) for c, u in rows], page, pages)
