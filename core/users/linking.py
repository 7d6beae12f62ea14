"""/link and /unlink: one person, several platform accounts.

`/link` gives a 6-digit code valid 15 minutes, kept only as a keyed hash. Typed on another account
(`/link 123456`) it merges that account's user into the code's user. Wrong codes count against
the person typing them: the 5th wrong one within 15 minutes burns their attempts (no code can
be entered from that account until the window ends, longer than any code it could be after
lives), so a code cannot be guessed from one account.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.storage.db import insert_ignore
from core.storage.models import Account, LinkCode, LinkTry, ReleasedHandle, User
from core.users.accounts import new_user
from core.users.merge import Merge, merge_users

CODE_TTL = timedelta(minutes=15)
MAX_TRIES = 5
_CODE = re.compile(r"\d{6}")


def code_hash(code: str, key: bytes) -> str:
    """Keyed (the bot's secret): a copy of the database alone cannot try the million codes."""
    return hmac.new(key, f"link\0{code}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Issued:
    code: str
    expires_at: datetime


async def issue_code(
    session: AsyncSession, user: User, account: Account, now: datetime, key: bytes
) -> Issued:
    """A fresh code for `user` (an earlier unused one stops working)."""
    await session.execute(
        delete(LinkCode).where(
            (LinkCode.user_id == user.id) | (LinkCode.created_at < now - timedelta(days=1))
        )
    )
    for _ in range(10):
        code = f"{secrets.randbelow(10**6):06d}"
        clash = await session.scalar(
            select(LinkCode.id).where(
                LinkCode.code_hash == code_hash(code, key),
                LinkCode.used_at.is_(None),
                LinkCode.expires_at > now,
            )
        )
        if clash is None:
            break
    expires = now + CODE_TTL
    session.add(
        LinkCode(
            user_id=user.id,
            account_id=account.id,
            code_hash=code_hash(code, key),
            created_at=now,
            expires_at=expires,
        )
    )
    await session.flush()
    return Issued(code, expires)


@dataclass(frozen=True)
class WrongCode:
    """A code that matches nothing; recorded (the command must commit, not raise)."""

    tries_left: int


@dataclass(frozen=True)
class Linked:
    keep_id: int
    merge: Merge


def _minutes(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 59) // 60)


async def redeem_code(
    session: AsyncSession, user: User, text: str, now: datetime, key: bytes
) -> Linked | WrongCode:
    """Merge `user` (who typed the code) into the code's user."""
    code = re.sub(r"[\s-]", "", text)
    if not _CODE.fullmatch(code):
        raise InvalidInput("A link code is 6 digits, like 123456.")
    tries = await session.get(LinkTry, user.id)
    if tries is not None and tries.since + CODE_TTL <= now:
        tries.failures, tries.since = 0, now  # the window is over: a fresh start
    if tries is not None and tries.failures >= MAX_TRIES:
        wait = _minutes(tries.since + CODE_TTL - now)
        raise Forbidden(
            f"Too many wrong codes. Try again in {wait} min with a new code (/link on your "
            "other account)."
        )
    found = await session.scalar(
        select(LinkCode)
        .where(LinkCode.code_hash == code_hash(code, key))
        .order_by(LinkCode.id.desc())
    )
    if found is None:
        # Counted in the database: two wrong codes sent at once count twice, and cannot both
        # create the row.
        if tries is None:
            await session.execute(
                insert_ignore(session, LinkTry, dict(user_id=user.id, failures=0, since=now))
            )
        failures = await session.scalar(
            update(LinkTry)
            .where(LinkTry.user_id == user.id)
            .values(failures=LinkTry.failures + 1)
            .returning(LinkTry.failures)
        )
        return WrongCode(max(0, MAX_TRIES - int(failures or MAX_TRIES)))
    if found.user_id == user.id and found.used_at is not None:
        raise Conflict("These accounts are one person already. /handle shows who you are.")
    if found.user_id == user.id:
        raise InvalidInput(
            "That code is from this account. Type it on your other account (or as the other "
            "user) to link the two."
        )
    if found.used_at is not None:
        raise Conflict("That code was used already. Send /link on the other account for a new one.")
    if found.expires_at <= now:
        raise Conflict("That code expired (codes last 15 minutes). Send /link for a new one.")
    keep_id = found.user_id
    # Both rows locked in id order: a /link racing from the other side waits here, then
    # finds its code gone with the user it belonged to.
    try:
        async with session.begin_nested():
            locked = list(
                await session.scalars(
                    select(User)
                    .where(User.id.in_(sorted({keep_id, user.id})))
                    .order_by(User.id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            )
    except DBAPIError as error:  # a deadlock with the other side's /link: it goes first
        if "deadlock" not in str(error).lower():
            raise
        raise Conflict(
            "Your other account is linking right now. Check /handle in a moment."
        ) from None
    by_id = {u.id: u for u in locked}
    keep, gone = by_id.get(keep_id), by_id.get(user.id)
    if keep is None or gone is None or keep.deleted_at is not None:
        raise Conflict(
            "That code no longer works: its account was just linked or deleted. /handle shows "
            "who you are now."
        )
    claimed = await session.scalar(
        update(LinkCode)
        .where(LinkCode.id == found.id, LinkCode.used_at.is_(None))
        .values(used_at=now)
        .returning(LinkCode.id)
    )
    if claimed is None:
        raise Conflict("That code was used already. Send /link on the other account for a new one.")
    merge = await merge_users(session, keep, gone, now)
    return Linked(keep_id, merge)


async def accounts_of(session: AsyncSession, user_id: int) -> list[Account]:
    return list(
        await session.scalars(
            select(Account).where(Account.user_id == user_id).order_by(Account.id)
        )
    )


async def split_account(
    session: AsyncSession,
    user: User,
    current: Account,
    which: str | None,
    name: str,
    username: str | None,
    now: datetime,
) -> tuple[Account, User]:
    """Split a platform account off `user` into a new, empty user. `which` names it
    ("discord", "console:bob"); none means the account typing. The data stays with `user`."""
    accounts = await accounts_of(session, user.id)
    if len(accounts) < 2:
        raise InvalidInput("This is your only account; there is nothing to unlink.")
    if which is None:
        target = next(a for a in accounts if a.id == current.id)
    else:
        wanted = which.strip().lower()
        target_list = [
            a for a in accounts if wanted in (a.platform, f"{a.platform}:{a.external_id}".lower())
        ]
        if len(target_list) != 1:
            names = ", ".join(f"{a.platform}:{a.external_id}" for a in accounts)
            if not target_list:
                raise NotFound(f"You have no {which[:20]!r} account. Yours: {names}.")
            raise InvalidInput(f"You have several {which[:20]} accounts; name one: {names}.")
        target = target_list[0]
    here = target.id == current.id
    fresh = await new_user(
        session, name if here else user.name, now, username if here else None, heir=user.id
    )
    if fresh.handle:  # its old handle, kept for the person, is this account's again
        await session.execute(delete(ReleasedHandle).where(ReleasedHandle.handle == fresh.handle))
    await session.execute(update(Account).where(Account.id == target.id).values(user_id=fresh.id))
    await session.execute(delete(LinkCode).where(LinkCode.account_id == target.id))
    return target, fresh
