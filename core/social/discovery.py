"""People to follow: first those who share your groups and running challenges (the more
shared, the sooner), then public profiles active in the last 30 days, most recent first.
Never yourself, people you follow or asked to, or anyone blocked either way.

Each tier is cut to the page's end inside the database (the second walks the accounts'
last-seen index from the newest and stops after a page or so); the second is asked only
when the first runs out, then the page's people are loaded. Separate statements rather than
one: PostgreSQL plans the one in more time than it runs the three."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.storage.models import Account, Block, Challenge, Follow, Membership, Participant, User

PAGE = 10
ACTIVE = timedelta(days=30)


@dataclass(frozen=True)
class Suggestion:
    user: User
    shared: int  # groups and challenges in common; 0: suggested for being active


@dataclass(frozen=True)
class Suggestions:
    items: list[Suggestion]
    page: int
    more: bool


def _shown(viewer_id: int, uid: Any) -> list[Any]:
    """Not me, not followed or asked, not blocked either way. Separate NOT EXISTS terms (not
    one NOT (a OR b ...)), so PostgreSQL plans them as anti-joins."""
    return [
        uid != viewer_id,
        ~exists().where(Follow.follower_id == viewer_id, Follow.followee_id == uid),
        ~exists().where(Block.blocker_id == viewer_id, Block.blocked_id == uid),
        ~exists().where(Block.blocker_id == uid, Block.blocked_id == viewer_id),
    ]


async def _mates(session: AsyncSession, viewer_id: int, upto: int) -> list[tuple[int, int]]:
    """(user id, groups and challenges shared) of the first `upto` mates, most shared first."""
    mine, theirs = aliased(Membership), aliased(Membership)
    joined, others = aliased(Participant), aliased(Participant)
    mates = union_all(
        select(theirs.user_id.label("uid"))
        .join(mine, mine.group_id == theirs.group_id)
        .where(mine.user_id == viewer_id),
        select(others.user_id.label("uid"))
        .join(joined, joined.challenge_id == others.challenge_id)
        .join(Challenge, Challenge.id == joined.challenge_id)
        .where(joined.user_id == viewer_id, Challenge.status != "ended"),
    ).subquery("mates")
    grouped = (
        select(mates.c.uid, func.count().label("shared")).group_by(mates.c.uid).subquery("grouped")
    )
    rows = await session.execute(
        select(grouped.c.uid, grouped.c.shared)
        .where(*_shown(viewer_id, grouped.c.uid))
        .order_by(grouped.c.shared.desc(), grouped.c.uid)
        .limit(upto)
    )
    return [(uid, shared) for uid, shared in rows]


async def _active(session: AsyncSession, viewer_id: int, upto: int, now: datetime) -> list[int]:
    """The first `upto` public, recently active people who are no mates, newest first."""
    mine, theirs = aliased(Membership), aliased(Membership)
    joined, others = aliased(Participant), aliased(Participant)
    # Asked per account walked (a few dozen), through the memberships' own indexes.
    shares_group = (
        select(literal(1))
        .select_from(mine)
        .join(theirs, theirs.group_id == mine.group_id)
        .where(mine.user_id == viewer_id, theirs.user_id == Account.user_id)
        .exists()
    )
    shares_challenge = (
        select(literal(1))
        .select_from(joined)
        .join(others, others.challenge_id == joined.challenge_id)
        .join(Challenge, Challenge.id == joined.challenge_id)
        .where(
            joined.user_id == viewer_id,
            others.user_id == Account.user_id,
            Challenge.status != "ended",
        )
        .exists()
    )
    walked = await session.scalars(
        select(Account.user_id)
        .join(User, User.id == Account.user_id)
        .where(
            Account.last_seen_at >= now - ACTIVE,
            User.profile_public.is_(True),
            *_shown(viewer_id, Account.user_id),
            ~shares_group,
            ~shares_challenge,
        )
        .order_by(Account.last_seen_at.desc(), Account.id)
        .limit(upto + 5)  # a person with two platform accounts comes twice: kept once
    )
    return list(dict.fromkeys(walked))[:upto]


async def suggestions(
    session: AsyncSession, viewer_id: int, page: int, now: datetime
) -> Suggestions:
    start, upto = (page - 1) * PAGE, page * PAGE + 1  # +1: whether a next page exists
    mates = await _mates(session, viewer_id, upto)
    ranked = mates[start:upto]
    if len(mates) < upto:  # the mates ran out: active people follow them
        active = await _active(session, viewer_id, upto - len(mates), now)
        ranked += [(uid, 0) for uid in active][max(0, start - len(mates)) :][: upto - start]
    ranked = ranked[: PAGE + 1]
    if not ranked:
        return Suggestions([], page, False)
    users = {
        u.id: u
        for u in await session.scalars(select(User).where(User.id.in_([r[0] for r in ranked])))
    }
    items = [Suggestion(users[uid], shared) for uid, shared in ranked[:PAGE] if uid in users]
    return Suggestions(items, page, len(ranked) > PAGE)
