"""People to follow: first those who share your groups and running challenges (the more
shared, the sooner), then public profiles active in the last 30 days, most recent first.
Never yourself, people you follow or asked to, or anyone blocked either way.

One statement per page: each tier is cut to the page's end inside the database (the second
walks the accounts' last-seen index from the newest and stops), then the two are merged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

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


async def suggestions(
    session: AsyncSession, viewer_id: int, page: int, now: datetime
) -> Suggestions:
    upto = page * PAGE + 1  # one more than the page's end: whether a next page exists
    my_groups = select(Membership.group_id).where(Membership.user_id == viewer_id)
    my_challenges = (
        select(Participant.challenge_id)
        .join(Challenge, Challenge.id == Participant.challenge_id)
        .where(Participant.user_id == viewer_id, Challenge.status != "ended")
    )
    mates = union_all(
        select(Membership.user_id.label("uid")).where(Membership.group_id.in_(my_groups)),
        select(Participant.user_id.label("uid")).where(Participant.challenge_id.in_(my_challenges)),
    ).subquery("mates")

    def hidden(uid: object) -> object:
        """Someone not to suggest: me, followed or asked, blocked either way."""
        return (
            (uid == viewer_id)  # type: ignore[operator]
            | exists().where(Follow.follower_id == viewer_id, Follow.followee_id == uid)
            | exists().where(Block.blocker_id == viewer_id, Block.blocked_id == uid)
            | exists().where(Block.blocker_id == uid, Block.blocked_id == viewer_id)
        )

    shared = func.count().label("shared")
    first = (
        select(
            mates.c.uid.label("uid"),
            literal(1).label("tier"),
            shared,
            literal(None, Account.last_seen_at.type).label("seen"),
        )
        .group_by(mates.c.uid)
        .having(~hidden(mates.c.uid))
        .order_by(shared.desc(), mates.c.uid)
        .limit(upto)
        .subquery("first")
    )
    is_mate = exists().where(
        Membership.user_id == Account.user_id, Membership.group_id.in_(my_groups)
    ) | exists().where(
        Participant.user_id == Account.user_id, Participant.challenge_id.in_(my_challenges)
    )
    second = (
        select(
            Account.user_id.label("uid"),
            literal(2).label("tier"),
            literal(0).label("shared"),
            Account.last_seen_at.label("seen"),
        )
        .join(User, User.id == Account.user_id)
        .where(
            Account.last_seen_at >= now - ACTIVE,
            User.profile_public.is_(True),
            ~hidden(Account.user_id),
            ~is_mate,
        )
        .order_by(Account.last_seen_at.desc(), Account.id)
        .limit(upto + 5)  # a person with two platform accounts comes twice: kept once below
        .subquery("second")
    )
    both = union_all(select(first), select(second)).subquery("both")
    rows = (
        await session.execute(
            select(User, both.c.tier, both.c.shared)
            .join(both, both.c.uid == User.id)
            .order_by(both.c.tier, both.c.shared.desc(), both.c.seen.desc(), User.id)
        )
    ).all()
    seen: set[int] = set()
    ordered: list[Suggestion] = []
    for user, tier, count in rows:
        if user.id not in seen:
            seen.add(user.id)
            ordered.append(Suggestion(user, count if tier == 1 else 0))
    start = (page - 1) * PAGE
    return Suggestions(ordered[start : start + PAGE], page, len(ordered) > start + PAGE)
