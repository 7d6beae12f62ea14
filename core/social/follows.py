"""Following: a public profile's follow is accepted at once; a private profile's is a request
its owner approves or declines. The followed person is told once an hour at most, in one
message naming everyone new (an outbox row per person and hour, filled until it is sent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, InvalidInput, NotFound
from core.outbox import enqueue
from core.social.lookup import Person
from core.storage.db import insert_ignore
from core.storage.models import Follow, Outbox, User
from core.users.accounts import private_addresses

PAGE = 10
NEWS_KIND = "followers"  # the batched "new followers" message (bots/notifications.py)
NEWS_NAMES = 20  # handles named in one message; the rest are counted


async def follow(session: AsyncSession, viewer: User, person: Person, now: datetime) -> str:
    """Follow `person`; returns "accepted", or "pending" for a private profile's request."""
    handle = person.handle
    if person.is_self:
        raise InvalidInput("You can't follow yourself.")
    if person.i_blocked:
        raise Conflict(f"You blocked @{handle}; unblock them first.")
    if person.i_follow == "accepted":
        raise Conflict(f"You already follow @{handle}.")
    if person.i_follow == "pending":
        raise Conflict(f"You asked to follow @{handle} already; they have not answered yet.")
    status = "accepted" if person.user.profile_public else "pending"
    inserted = await session.scalar(
        insert_ignore(
            session,
            Follow,
            dict(
                follower_id=viewer.id,
                followee_id=person.user.id,
                status=status,
                created_at=now,
            ),
        ).returning(Follow.status)
    )
    if inserted is None:  # two taps at once: the other one followed
        raise Conflict(f"You already follow @{handle}.")
    await _tell(session, person.user.id, viewer.handle or "", status, now)
    return status


async def unfollow(session: AsyncSession, viewer: User, person: Person, now: datetime) -> str:
    """Stop following, or withdraw a request; returns what it was."""
    if person.i_follow is None:
        raise NotFound(f"You don't follow @{person.handle}.")
    await session.execute(
        delete(Follow).where(Follow.follower_id == viewer.id, Follow.followee_id == person.user.id)
    )
    await untell(session, person.user.id, viewer.handle or "", now)
    return person.i_follow


async def answer_request(
    session: AsyncSession, owner: User, person: Person, approve: bool, now: datetime
) -> None:
    """Approve or decline `person`'s request to follow `owner`."""
    if person.follows_me != "pending":
        if person.follows_me == "accepted":
            raise Conflict(f"@{person.handle} follows you already.")
        raise NotFound(f"@{person.handle} has not asked to follow you.")
    where = (Follow.follower_id == person.user.id, Follow.followee_id == owner.id)
    if approve:
        await session.execute(update(Follow).where(*where).values(status="accepted"))
        await _tell_accepted(session, person.user.id, owner.handle or "", now)
    else:
        await session.execute(delete(Follow).where(*where))
    await untell(session, owner.id, person.handle, now, requests_only=True)


async def accept_all_requests(session: AsyncSession, owner_id: int) -> int:
    """A profile made public lets every waiting request in."""
    result = await session.execute(
        update(Follow)
        .where(Follow.followee_id == owner_id, Follow.status == "pending")
        .values(status="accepted")
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class Page:
    users: list[User]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, (self.total + PAGE - 1) // PAGE)


async def follow_list(
    session: AsyncSession,
    user_id: int,
    which: Literal["followers", "following", "requests"],
    page: int,
) -> Page:
    """One page of the user's followers, the people they follow, or the requests they have
    not answered; newest first. Two statements: the page and its count."""
    if which == "following":
        mine, other, status = Follow.follower_id, Follow.followee_id, "accepted"
    else:
        mine, other = Follow.followee_id, Follow.follower_id
        status = "pending" if which == "requests" else "accepted"
    where = (mine == user_id, Follow.status == status)
    users = list(
        await session.scalars(
            select(User)
            .join(Follow, other == User.id)
            .where(*where)
            .order_by(Follow.created_at.desc(), User.id)
            .limit(PAGE)
            .offset((page - 1) * PAGE)
        )
    )
    total = await session.scalar(select(func.count()).select_from(Follow).where(*where)) or 0
    return Page(users, total, page)


async def drop_follows_between(session: AsyncSession, a: int, b: int) -> None:
    """Both directions, accepted or pending (a block ends them)."""
    await session.execute(
        delete(Follow).where(
            ((Follow.follower_id == a) & (Follow.followee_id == b))
            | ((Follow.follower_id == b) & (Follow.followee_id == a))
        )
    )


# ------------------------------------------------------------------ telling the followed person


def _news_key(user_id: int, now: datetime) -> str:
    return f"{NEWS_KIND}:{user_id}:{now:%Y%m%d%H}"


async def _pending_news(session: AsyncSession, *keys: str) -> Outbox | None:
    return await session.scalar(
        select(Outbox)
        .where(Outbox.dedupe_key.in_(keys), Outbox.status == "pending")
        .order_by(Outbox.id.desc())
        .limit(1)
        .with_for_update()
    )


async def _tell(
    session: AsyncSession, followee_id: int, follower: str, status: str, now: datetime
) -> None:
    """Add `follower` to this hour's message for the followee, queued for the hour's end."""
    field = "followers" if status == "accepted" else "requests"
    key = _news_key(followee_id, now)
    for _ in range(2):  # a row inserted by a racing follow is found on the second pass
        row = await _pending_news(session, key)
        if row is not None:
            data = dict(row.data)
            names = [n for n in data.get(field, []) if n != follower]
            data[field] = [*names, follower][-NEWS_NAMES:]
            data[f"{field}_count"] = int(data.get(f"{field}_count", len(names))) + 1
            row.data = data
            return
        address = (await private_addresses(session, [followee_id])).get(followee_id)
        if address is None or address.private_chat is None:
            return  # no private chat to write to: they see it on /followers
        data = {"user_id": followee_id, field: [follower], f"{field}_count": 1}
        hour = now.replace(minute=0, second=0, microsecond=0)
        if await enqueue(
            session,
            platform=address.platform,
            chat=address.private_chat,
            kind=NEWS_KIND,
            data=data,
            dedupe_key=key,
            now=now,
            not_before=hour + timedelta(hours=1),
        ):
            return


async def untell(
    session: AsyncSession,
    followee_id: int,
    follower: str,
    now: datetime,
    requests_only: bool = False,
) -> None:
    """Take `follower` out of a message not yet sent (they unfollowed, or it was answered)."""
    # This hour's message, or the last hour's if it has not gone out yet.
    keys = (_news_key(followee_id, now), _news_key(followee_id, now - timedelta(hours=1)))
    row = await _pending_news(session, *keys)
    if row is None:
        return
    data = dict(row.data)
    for field in ("requests",) if requests_only else ("followers", "requests"):
        if follower in data.get(field, []):
            data[field] = [n for n in data[field] if n != follower]
            data[f"{field}_count"] = max(0, int(data.get(f"{field}_count", 1)) - 1)
    if not data.get("followers_count") and not data.get("requests_count"):
        await session.delete(row)  # nothing left to tell
        return
    row.data = data


async def _tell_accepted(
    session: AsyncSession, requester_id: int, owner: str, now: datetime
) -> None:
    address = (await private_addresses(session, [requester_id])).get(requester_id)
    if address is None or address.private_chat is None:
        return
    await enqueue(
        session,
        platform=address.platform,
        chat=address.private_chat,
        kind="follow_accepted",
        data={"user_id": requester_id, "handle": owner},
        dedupe_key=f"follow_accepted:{owner}:{requester_id}:{now:%Y%m%d}",
        now=now,
    )
