"""One core user per person, reached through platform accounts."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.db import attach, insert_ignore, prepared
from core.storage.models import Account, User

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
) -> tuple[User, Account, bool]:
    """The user behind a platform account, created on first contact. Returns (user, account,
    created). A private chat makes the account reachable again (the user wrote to us)."""
    row = (
        await session.execute(
            prepared(session, _account_and_user),
            {"platform": platform, "external_id": external_id},
        )
    ).first()
    if row is not None:
        values = row._mapping
        account = attach(session, Account, {c: values[f"a_{c}"] for c in _ACCOUNT_COLUMNS})
        user = attach(session, User, {c: values[f"u_{c}"] for c in _USER_COLUMNS})
        if private_chat and (account.private_chat != private_chat or account.unreachable):
            account.private_chat, account.unreachable = private_chat, False
        elif reach and account.private_chat is None:
            account.private_chat = reach  # learnt once; a failed delivery is not undone here
        if now - account.last_seen_at > _SEEN_EVERY:
            account.last_seen_at = now
        return user, account, False

    clean = " ".join(name.split())[:64] or "friend"
    user = await _new_user(session, clean, now)
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
        return await resolve_account(session, platform, external_id, name, private_chat, now, reach)
    account = await session.get_one(Account, inserted)
    return user, account, True


_ACCOUNT_COLUMNS = tuple(Account.__table__.c.keys())
_USER_COLUMNS = tuple(User.__table__.c.keys())


def _account_and_user(_dialect: str) -> Select[Any]:
    """Every command starts here, so it is one prepared Core statement; its rows become the
    session's ORM objects without an ORM query (commands change the user through them)."""
    accounts, users = Account.__table__, User.__table__
    return (
        select(
            *(accounts.c[c].label(f"a_{c}") for c in _ACCOUNT_COLUMNS),
            *(users.c[c].label(f"u_{c}") for c in _USER_COLUMNS),
        )
        .join(users, users.c.id == accounts.c.user_id)
        .where(
            accounts.c.platform == bindparam("platform"),
            accounts.c.external_id == bindparam("external_id"),
        )
    )


async def _new_user(session: AsyncSession, name: str, now: datetime) -> User:
    """Insert a user under a free handle. Namesakes can arrive at the same moment (PostgreSQL
    runs them concurrently), so the unique handle is claimed by the insert itself."""
    base = re.sub(r"[^a-z0-9_]", "", name.lower().replace(" ", "_"))[:20] or "user"
    for handle in (base, f"{base}_{secrets.token_hex(3)}", f"{base}_{secrets.token_hex(8)}"):
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
