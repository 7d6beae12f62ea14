"""Reactions from a fixed set, one of each per person per post, toggled by pressing again.

The row's key (post, user, emoji) makes two racing taps end as one row or none, never two,
and the count on the post row moves in the same transaction as the row, by what was actually
inserted or deleted, so the shown count is always the number of rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput
from core.social.feed_alerts import tell_author
from core.social.posts import visible_post
from core.storage.db import insert_ignore_into, params, prepared
from core.storage.models import Post, Reaction, User

# code -> (emoji, the counting column on posts), in the order buttons show them
EMOJI: dict[str, tuple[str, str]] = {
    "like": ("👍", "likes"),
    "fire": ("🔥", "fires"),
    "muscle": ("💪", "muscles"),
    "party": ("🎉", "parties"),
    "heart": ("❤️", "hearts"),
}
_BY_EMOJI = {e.replace("\ufe0f", ""): code for code, (e, _) in EMOJI.items()}


def reaction_code(text: str) -> str:
    """'fire', '🔥' -> 'fire'; anything else is refused with the set."""
    word = text.strip().lower()
    code = word if word in EMOJI else _BY_EMOJI.get(word.replace("\ufe0f", ""))
    if code is None:
        shown = " ".join(f"{e} {c}" for c, (e, _) in EMOJI.items())
        raise InvalidInput(f"Reactions are {shown}.")
    return code


def counts(post: Post) -> dict[str, int]:
    return {code: int(getattr(post, column) or 0) for code, (_, column) in EMOJI.items()}


@dataclass(frozen=True)
class Toggled:
    post_id: int
    code: str
    added: bool
    counts: dict[str, int]
    comments: int


def _add(dialect: str) -> Any:
    values = params(Reaction.__table__, "post_id", "user_id", "emoji", "created_at")
    return insert_ignore_into(dialect, Reaction).values(**values).returning(Reaction.emoji)


def _take_back(dialect: str) -> Any:
    table = Reaction.__table__
    return (
        delete(table)
        .where(
            table.c.post_id == bindparam("post_id"),
            table.c.user_id == bindparam("user_id"),
            table.c.emoji == bindparam("emoji"),
        )
        .returning(table.c.emoji)
    )


def _count(column: str) -> Any:
    """The statement moving one emoji's count on the post row by `delta`, returning all."""

    def build(dialect: str) -> Any:
        table = Post.__table__
        return (
            update(table)
            .where(table.c.id == bindparam("post_id"))
            .values({column: table.c[column] + bindparam("delta")})
            .returning(*(table.c[c] for _, c in EMOJI.values()), table.c.comments)
        )

    return build


_COUNTS = {code: _count(column) for code, (_, column) in EMOJI.items()}


async def toggle(
    session: AsyncSession, viewer: User, post_id: int, code: str, now: datetime
) -> Toggled:
    """Add the reaction, or take it back if it is there. Prepared statements throughout: a
    tap is a post lookup, an insert (or a delete) and the count, plus the author's news."""
    shown = await visible_post(session, viewer.id, post_id)
    key = {"post_id": post_id, "user_id": viewer.id, "emoji": code}
    inserted = await session.scalar(prepared(session, _add), {**key, "created_at": now})
    added = inserted is not None
    if not added:  # pressed again: take it back (if a racing tap has not already)
        removed = await session.scalar(prepared(session, _take_back), key)
        if removed is None:
            return Toggled(post_id, code, False, counts(shown.post), shown.post.comments)
    row = (
        await session.execute(
            prepared(session, _COUNTS[code]), {"post_id": post_id, "delta": 1 if added else -1}
        )
    ).one()
    now_counts = dict(zip(EMOJI, (int(v) for v in row[:-1]), strict=True))
    if shown.post.author_id != viewer.id:
        await tell_author(
            session, shown.post, viewer.handle or "", now, reaction=code, undo=not added
        )
    return Toggled(post_id, code, added, now_counts, int(row[-1]))
