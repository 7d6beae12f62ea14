"""One core user per person, reached through platform accounts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.delivery import mark_unreachable
from core.habits.service import loaded_habits
from core.storage.db import insert_ignore
from core.storage.models import Account, Habit, User
from core.text import storable
from core.users.handles import base_handle, candidates, reserved

# last_seen is bookkeeping: refreshing it at most this often saves a write on hot paths.
_SEEN_EVERY = timedelta(minutes=10)


async def resolve_account(
    session: AsyncSession,
    platform: str,
    external_id: str,
    name: str,
    private_chat: str | None,
    now: datetime,
    reach: str | None = None,
    username: str | None = None,
) -> tuple[User, Account, bool]:
    """The user behind a platform account, created on first contact. Returns (user, account,
    created). A private chat makes the account reachable again (the user wrote to us). A new
    user's handle comes from the platform `username` when it is free (else from the name)."""
    rows = (
        await session.execute(
            _ACCOUNT_USER_HABITS, {"platform": platform, "external_id": external_id}
        )
    ).all()
    if rows:
        account, user, _ = rows[0]
        loaded_habits(session, user.id, [habit for _, _, habit in rows if habit is not None])
        if private_chat and (account.private_chat != private_chat or account.unreachable):
            account.private_chat, account.unreachable = private_chat, False
            await _reachable_again(session, user.id, now)
        elif reach and account.private_chat is None:
            account.private_chat = reach  # learnt once; a failed delivery is not undone here
            await _reachable_again(session, user.id, now)
        if now - account.last_seen_at > _SEEN_EVERY:
            account.last_seen_at = now
        return user, account, False

    clean = storable(name)[:64] or "friend"
    user = await new_user(session, clean, now, username)
    inserted = await session.scalar(
        insert_ignore(
            session,
            Account,
            dict(
                platform=platform,
                external_id=external_id,
                user_id=user.id,
                private_chat=private_chat or reach,
                unreachable=False,
                last_seen_at=now,
            ),
        ).returning(Account.id)
    )
    if inserted is None:  # the same person's first two messages raced; the other one won
        await session.delete(user)
        await session.flush()
        return await resolve_account(
            session, platform, external_id, name, private_chat, now, reach, username
        )
    account = await session.get_one(Account, inserted)
    loaded_habits(session, user.id, [])
    return user, account, True


async def _reachable_again(session: AsyncSession, user_id: int, now: datetime) -> None:
    """The bot can write to them now: messages that waited for this go out (rarely runs: only
    when an account first gets, or gets back, a private chat)."""
    from core.messaging.service import deliver_waiting  # messaging builds on accounts

    await session.flush()
    await deliver_waiting(session, user_id, now)


# Every command starts here: one query brings the account, its user and the user's habits
# (one row per habit), which most commands then use without a statement of their own.
_ACCOUNT_USER_HABITS = (
    select(Account, User, Habit)
    .join(User, User.id == Account.user_id)
    .outerjoin(Habit, Habit.user_id == User.id)
    .where(
        Account.platform == bindparam("platform"),
        Account.external_id == bindparam("external_id"),
    )
    .order_by(Habit.id)
)


async def new_user(
    session: AsyncSession,
    name: str,
    now: datetime,
    username: str | None = None,
    heir: int | None = None,
) -> User:
    """Insert a user under a free handle. Namesakes can arrive at the same moment (PostgreSQL
    runs them concurrently), so the unique handle is claimed by the insert itself; handles
    someone gave up recently are skipped, except those kept for `heir` (an account split off
    that person may have its old handle back)."""
    options = candidates(base_handle(username, name))
    held = await reserved(session, options, now, for_user=heir)
    for handle in (h for h in options if h not in held):
        user = await session.scalar(
            insert_ignore(
                session, User, dict(name=name, handle=handle, timezone="UTC", created_at=now)
            ).returning(User)
        )
        if user is not None:
            return user
    raise RuntimeError("no free handle")  # three taken in a row, one of them random: a bug


async def private_addresses(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, Account]:
    """Where to write to each user privately: their most recently seen reachable account with
    a private chat. One query for the whole batch."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    best: dict[int, Account] = {}
    for account in await session.scalars(
        select(Account).where(
            Account.user_id.in_(ids),
            Account.private_chat.is_not(None),
            Account.unreachable.is_(False),
        )
    ):
        current = best.get(account.user_id)
        if current is None or account.last_seen_at > current.last_seen_at:
            best[account.user_id] = account
    return best


async def set_private_chat_reachable(
    session: AsyncSession, platform: str, chat: str, reachable: bool, now: datetime
) -> None:
    """The user blocked the bot in their private chat (False) or unblocked it (True). Blocked:
    nothing more is queued for them and what waits is closed, as after a refused delivery."""
    if not reachable:
        await mark_unreachable(session, platform, chat, "the user blocked the bot", now)
        return
    users = await session.scalars(
        update(Account)
        .where(Account.platform == platform, Account.private_chat == chat)
        .values(unreachable=False)
        .returning(Account.user_id)
    )
    for user_id in set(users):
        await _reachable_again(session, user_id, now)
