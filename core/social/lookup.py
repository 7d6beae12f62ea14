"""`@handle` names a person everywhere: one query finds them and how they relate to whoever
asked (follows either way, blocks, follower counts). Someone who blocked the asker does not
exist for them: they are told "no one is called @x", as for a handle nobody has."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.storage.models import Block, Follow, User

MAX_HANDLE = 40  # the column; handles made from names are at most 37 characters
_HANDLE = re.compile(r"[A-Za-z0-9_]+")
_SHOWN = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class Person:
    """A user as seen by the one asking (`viewer_id`)."""

    user: User
    viewer_id: int
    i_follow: str | None  # my follow of them: "accepted", "pending" or None
    follows_me: str | None  # theirs of me
    i_blocked: bool
    followers: int  # accepted follows, either way
    following: int

    @property
    def is_self(self) -> bool:
        return self.user.id == self.viewer_id

    @property
    def handle(self) -> str:
        return self.user.handle or f"user{self.user.id}"

    @property
    def sees_all(self) -> bool:
        """Whether the viewer may see the whole profile: it is public, theirs, or they are an
        accepted follower. Blocked people see nothing."""
        if self.i_blocked:
            return False
        return self.is_self or self.user.profile_public or self.i_follow == "accepted"


def handle_key(text: str) -> str:
    """The lookup key of a typed person: '@Ann' -> 'ann'. Refuses what cannot be a handle."""
    raw = text.strip()
    bare = raw[1:] if raw.startswith("@") else raw
    if not bare:
        raise InvalidInput("Name someone by their handle, e.g. @ann.")
    if not _HANDLE.fullmatch(bare) or len(bare) > MAX_HANDLE:
        shown = _SHOWN.sub("", bare)[:MAX_HANDLE]
        hint = f" Did you mean @{shown}?" if shown and shown != bare else ""
        raise InvalidInput(
            f"That is not a handle: handles are letters, digits and _ (at most {MAX_HANDLE}).{hint}"
        )
    return bare.lower()


def _count(column: object, user_id: object) -> object:
    return (
        select(func.count())
        .select_from(Follow)
        .where(column == user_id, Follow.status == "accepted")  # type: ignore[operator]
        .scalar_subquery()
    )


async def find_person(session: AsyncSession, text: str, viewer_id: int) -> Person:
    """The person `text` (@handle or handle, any case) names, for `viewer_id`. Raises NotFound
    with close matches when no one (visible to the viewer) is called that."""
    key = handle_key(text)
    mine = select(Follow.status).where(
        Follow.follower_id == viewer_id, Follow.followee_id == User.id
    )
    theirs = select(Follow.status).where(
        Follow.follower_id == User.id, Follow.followee_id == viewer_id
    )
    i_blocked = exists().where(Block.blocker_id == viewer_id, Block.blocked_id == User.id)
    row = (
        await session.execute(
            select(
                User,
                mine.scalar_subquery(),
                theirs.scalar_subquery(),
                i_blocked,
                _count(Follow.followee_id, User.id),
                _count(Follow.follower_id, User.id),
            ).where(func.lower(User.handle) == key, ~_blocked_me(viewer_id))
        )
    ).first()
    if row is None:
        raise NotFound(await _not_found(session, key, viewer_id))
    user, i_follow, follows_me, blocked, followers, following = row
    return Person(user, viewer_id, i_follow, follows_me, bool(blocked), followers, following)


def _blocked_me(viewer_id: int) -> object:
    return exists().where(Block.blocker_id == User.id, Block.blocked_id == viewer_id)


async def _not_found(session: AsyncSession, key: str, viewer_id: int) -> str:
    """'No one is called @x.' with up to three handles close to it (same first letters)."""
    prefix = key[:2]
    candidates = list(
        await session.scalars(
            select(User.handle)
            .where(
                func.lower(User.handle).startswith(prefix, autoescape=True),
                ~_blocked_me(viewer_id),
            )
            .order_by(User.handle)
            .limit(200)
        )
    )
    by_key = {h.lower(): h for h in candidates if h}
    close = difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.6)
    text = f"No one is called @{key}."
    if close:
        text += " Did you mean " + " or ".join(f"@{by_key[c]}" for c in close) + "?"
    return text


async def visible_ids(session: AsyncSession, viewer_id: int, ids: list[int]) -> set[int]:
    """Which of `ids` the viewer may see at all: neither has blocked the other."""
    if not ids:
        return set()
    hidden = await session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            ((Block.blocker_id == viewer_id) & Block.blocked_id.in_(ids))
            | ((Block.blocked_id == viewer_id) & Block.blocker_id.in_(ids))
        )
    )
    gone = {a if a != viewer_id else b for a, b in hidden}
    return {i for i in ids if i not in gone}


async def handles_starting(
    session: AsyncSession, typed: str, viewer_id: int | None, limit: int
) -> list[str]:
    """Handles beginning with what was typed ('@an' -> ann, anna), for a menu's completion;
    never someone who blocked the viewer."""
    prefix = _SHOWN.sub("", typed.strip().lstrip("@")).lower()[:MAX_HANDLE]
    query = select(User.handle).where(
        func.lower(User.handle).startswith(prefix, autoescape=True), User.handle.is_not(None)
    )
    if viewer_id is not None:
        query = query.where(~_blocked_me(viewer_id))
    found = await session.scalars(query.order_by(func.lower(User.handle)).limit(limit))
    return [h for h in found if h]
