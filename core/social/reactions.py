"""Reactions from a fixed set, one of each per person per post, toggled by pressing again.

The row's key (post, user, emoji) makes two racing taps end as one row or none, never two,
and the count on the post row moves in the same transaction as the row, by what was actually
inserted or deleted, so the shown count is always the number of rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput
from core.social.feed_alerts import tell_author
from core.social.posts import visible_post
from core.storage.db import insert_ignore
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


async def toggle(
    session: AsyncSession, viewer: User, post_id: int, code: str, now: datetime
) -> Toggled:
    shown = await visible_post(session, viewer.id, post_id)
    inserted = await session.scalar(
        insert_ignore(
            session,
            Reaction,
            dict(post_id=post_id, user_id=viewer.id, emoji=code, created_at=now),
        ).returning(Reaction.emoji)
    )
    added = inserted is not None
    if not added:  # pressed again: take it back (if a racing tap has not already)
        removed = await session.scalar(
            delete(Reaction)
            .where(
                Reaction.post_id == post_id, Reaction.user_id == viewer.id, Reaction.emoji == code
            )
            .returning(Reaction.emoji)
        )
        if removed is None:
            return Toggled(post_id, code, False, counts(shown.post), shown.post.comments)
    column = getattr(Post, EMOJI[code][1])
    row = (
        await session.execute(
            update(Post)
            .where(Post.id == post_id)
            .values({EMOJI[code][1]: column + (1 if added else -1)})
            .returning(*(getattr(Post, c) for _, c in EMOJI.values()), Post.comments)
            .execution_options(synchronize_session=False)
        )
    ).one()
    now_counts = dict(zip(EMOJI, (int(v) for v in row[:-1]), strict=True))
    if shown.post.author_id != viewer.id:
        await tell_author(
            session, shown.post, viewer.handle or "", now, reaction=code, undo=not added
        )
    return Toggled(post_id, code, added, now_counts, int(row[-1]))
