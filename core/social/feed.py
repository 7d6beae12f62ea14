"""/feed, read at request time (fan-out on read) from indexed tables: no per-follower copies.

A reader's feed: their own items and those of the people they follow, what was posted in
their groups, and the items of their groups' members whose profile is public. A group's feed
(asked in the group, so read by all of it): what was posted there, and the items of its
members whose profile is public. Blocked people see nothing of each other.

Paging is a keyset on (created_at, id), carried by the buttons as a cursor: an item published
while someone pages sits before their first page and cannot shift what comes next, so
nothing repeats and nothing is skipped. Two statements a page: the reader's own items (people
followed, group mates), then the groups' posts with those ids, ordered once, the authors
joined; a third only when the reader's people are few (see _own_items).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Literal

from sqlalchemy import Select, and_, bindparam, func, or_, select, union, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput
from core.storage.db import prepared
from core.storage.models import Block, Follow, Membership, Post, User

PAGE = 10
WINDOW = 2000  # items outside groups one walk reads at most (see _own_items)
Direction = Literal["older", "newer"]
_CURSOR = re.compile(r"^([on])([0-9a-f]{1,14})\.([0-9a-f]{1,14})$")


@dataclass(frozen=True)
class Cursor:
    direction: Direction  # the items older than (created, id), or newer
    created: datetime
    id: int

    def encode(self) -> str:
        micros = int(self.created.timestamp() * 1_000_000)
        return f"{self.direction[0]}{micros:x}.{self.id:x}"


def parse_cursor(text: str) -> Cursor:
    """A cursor from a button; anything else (typed, forged, from another version) is refused
    with a way back to the first page."""
    found = _CURSOR.match(text.strip().lower())
    try:
        if found is None:
            raise ValueError(text)
        micros, post_id = int(found[2], 16), int(found[3], 16)
        created = datetime.fromtimestamp(micros / 1_000_000, UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidInput(
            "That page of the feed does not exist; {} starts again.", ("feed",)
        ) from None
    return Cursor("older" if found[1] == "o" else "newer", created, post_id)


@dataclass(frozen=True)
class Item:
    post: Post
    author: User


@dataclass(frozen=True)
class FeedPage:
    items: list[Item]
    older: Cursor | None  # the next page back in time, if there is one
    newer: Cursor | None  # the page before, if this is not the first


def _hidden(viewer: Any) -> Any:
    """The people the viewer is blocked from, either way."""
    return union(
        select(Block.blocked_id).where(Block.blocker_id == viewer),
        select(Block.blocker_id).where(Block.blocked_id == viewer),
    )


def _followed(viewer: Any) -> Any:
    return select(Follow.followee_id).where(
        Follow.follower_id == viewer, Follow.status == "accepted"
    )


def _order(newer: bool, created: Any, id_: Any) -> tuple[Any, Any]:
    return (created.asc(), id_.asc()) if newer else (created.desc(), id_.desc())


def _authors(viewer: Any) -> tuple[Any, Any]:
    """Whose items outside groups the reader sees: theirs, the people they follow (`mine`),
    and their groups' members (`everyone`), of whom only public profiles count."""
    groups = select(Membership.group_id).where(Membership.user_id == viewer)
    mates = select(Membership.user_id).where(Membership.group_id.in_(groups))
    return (
        union_all(_followed(viewer), select(viewer)),
        union_all(_followed(viewer), select(viewer), mates),
    )


def _own_items(direction: Direction | None, walk: bool, dialect: str) -> Any:
    """The reader's next PAGE + 1 items posted outside groups, as (id, created).

    `walk`: one newest-first walk of at most WINDOW items outside groups past the cursor, each
    checked against the reader's people (the index carries the author; a mate's profile is
    read by its key for the items that pass that check). At 100,000 users those people are
    a few percent of everyone, so ten are found within a few hundred entries. When the
    walk does not fill the page (the reader's people are few or quiet, or the feed ends), the
    other form answers exactly: their items author by author (the author index; group_id is
    wrapped so that the time-ordered index is not chosen), bounded by what they posted."""
    viewer = bindparam("viewer", type_=Post.author_id.type)
    mine, everyone = _authors(viewer)
    after = _after(direction)
    newer = direction == "newer"
    if walk:
        window = select(Post.id, Post.created_at, Post.author_id).where(Post.group_id.is_(None))
        if after is not None:
            window = window.where(after)
        window = window.order_by(*_order(newer, Post.created_at, Post.id)).limit(WINDOW)
        counted = window.subquery()
        return (
            select(counted.c.id, counted.c.created_at)
            .join(User, User.id == counted.c.author_id)
            .where(
                counted.c.author_id.in_(everyone),
                or_(counted.c.author_id.in_(mine), User.profile_public.is_(True)),
                counted.c.author_id.not_in(_hidden(viewer)),
            )
            .order_by(*_order(newer, counted.c.created_at, counted.c.id))
            .limit(PAGE + 1)
        )
    query = (
        select(Post.id, Post.created_at)
        .join(User, User.id == Post.author_id)
        .where(
            func.coalesce(Post.group_id, 0) == 0,
            Post.author_id.in_(everyone),
            or_(Post.author_id.in_(mine), User.profile_public.is_(True)),
            Post.author_id.not_in(_hidden(viewer)),
        )
    )
    if after is not None:
        query = query.where(after)
    return query.order_by(*_order(newer, Post.created_at, Post.id)).limit(PAGE + 1)


def _sources(in_group: bool) -> list[Select[Any]]:
    """The other sources of a page: the reader's groups' posts; or, in a group, its posts and
    its members' items (public profiles only: the whole group reads it)."""
    viewer = bindparam("viewer", type_=Post.author_id.type)
    hidden = _hidden(viewer)
    base = select(Post.id, Post.created_at)
    if not in_group:
        groups = select(Membership.group_id).where(Membership.user_id == viewer)
        return [base.where(Post.group_id.in_(groups), Post.author_id.not_in(hidden))]
    group = bindparam("group", type_=Post.id.type)
    members = select(Membership.user_id).where(Membership.group_id == group)
    return [
        base.where(Post.group_id == group, Post.author_id.not_in(hidden)),
        base.join(User, User.id == Post.author_id).where(
            Post.author_id.in_(members),
            Post.group_id.is_(None),
            User.profile_public.is_(True),
            Post.author_id.not_in(hidden),
        ),
    ]


def _after(direction: Direction | None) -> Any:
    """Past the cursor in (created, id) order, written so that both databases read it as a
    range on created_at (an OR of the two alone makes SQLite scan)."""
    if direction is None:
        return None
    c = bindparam("created", type_=Post.created_at.type)
    i = bindparam("id", type_=Post.id.type)
    if direction == "older":
        return and_(Post.created_at <= c, or_(Post.created_at < c, Post.id < i))
    return and_(Post.created_at >= c, or_(Post.created_at > c, Post.id > i))


def _page(in_group: bool, direction: Direction | None, dialect: str) -> Any:
    """A page: each source's next PAGE + 1 in order (and, outside a group, the reader's own
    items found before, as ids), their union ordered once, with the posts and authors."""
    newer = direction == "newer"
    after = _after(direction)
    parts = []
    for source in _sources(in_group):
        if after is not None:
            source = source.where(after)
        sub = source.order_by(*_order(newer, Post.created_at, Post.id)).limit(PAGE + 1).subquery()
        parts.append(select(sub.c.id, sub.c.created_at))
    if not in_group:
        own = bindparam("own", expanding=True, type_=Post.id.type)
        parts.append(select(Post.id, Post.created_at).where(Post.id.in_(own)))
    ids = union(*parts).subquery()
    return (
        select(Post, User)
        .join(ids, ids.c.id == Post.id)
        .join(User, User.id == Post.author_id)
        .where(User.deleted_at.is_(None))
        .order_by(*_order(newer, ids.c.created_at, ids.c.id))
        .limit(PAGE + 1)
    )


# One builder per kind of page, kept so that each statement is built once per database.
_PAGES = {
    (in_group, direction): partial(_page, in_group, direction)
    for in_group in (False, True)
    for direction in (None, "older", "newer")
}
_OWN = {
    (direction, walk): partial(_own_items, direction, walk)
    for direction in (None, "older", "newer")
    for walk in (True, False)
}


async def _own_ids(
    session: AsyncSession, values: dict[str, Any], direction: Direction | None
) -> list[int]:
    """The reader's own next items (outside groups): the walk, or author by author when the
    walk did not fill the page."""
    found = (await session.execute(prepared(session, _OWN[(direction, True)]), values)).all()
    if len(found) <= PAGE:  # the window ran out first, or the feed does: ask exactly
        found = (await session.execute(prepared(session, _OWN[(direction, False)]), values)).all()
    return [row.id for row in found]


async def feed_page(
    session: AsyncSession, viewer_id: int, group_id: int | None, cursor: Cursor | None = None
) -> FeedPage:
    newer = cursor is not None and cursor.direction == "newer"
    build = _PAGES[(group_id is not None, cursor.direction if cursor else None)]
    values: dict[str, Any] = {"viewer": viewer_id}
    if group_id is not None:
        values["group"] = group_id
    if cursor is not None:
        values |= {"created": cursor.created, "id": cursor.id}
    if group_id is None:
        values["own"] = await _own_ids(session, values, cursor.direction if cursor else None)
    rows = list((await session.execute(prepared(session, build), values)).all())
    more = len(rows) > PAGE
    items = [Item(p, u) for p, u in rows[:PAGE]]
    if newer:
        items.reverse()
    if not items:
        if newer:
            return await feed_page(session, viewer_id, group_id)
        return FeedPage([], None, None)
    first, last = items[0].post, items[-1].post
    older_c = Cursor("older", last.created_at, last.id)
    newer_c = Cursor("newer", first.created_at, first.id)
    if newer:
        if not more:  # back at the top: the first page, full, as /feed shows it
            return await feed_page(session, viewer_id, group_id)
        return FeedPage(items, older_c, newer_c)
    return FeedPage(items, older_c if more else None, newer_c if cursor is not None else None)
