"""Handles: the @name a person is known by on every platform.

3–32 letters, digits or `_`, unique regardless of case (stored lowercased). A handle given up
stays reserved for its last owner for a while, so nobody can pose as them straight away.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from core.errors import Conflict, InvalidInput
from core.storage.db import insert_ignore
from core.storage.models import ReleasedHandle, User

MIN_LENGTH, MAX_LENGTH = 3, 32
RESERVED_FOR = timedelta(days=30)
_VALID = re.compile(r"[a-z0-9_]{3,32}")
# Names that would read as the bot or as a placeholder for someone else.
_RESERVED = frozenset({"deleted", "deleted_user", "habitbot", "admin", "operator", "everyone"})
SHAPE = "A handle is 3–32 letters, digits or _ (like @ann_reads)."


def shown_as(user: User) -> str:
    """How others see a person: '@ann', or 'deleted user' once they deleted their data."""
    if user.deleted_at is not None:
        return "deleted user"
    return f"@{user.handle}" if user.handle else user.name


def normalize(text: str) -> str:
    """'@Ann_B' -> 'ann_b'. Raises InvalidInput (with a short, safe echo) when it is no handle."""
    typed = text.strip()
    if typed == "@":
        raise InvalidInput("Type a handle after the @, like @ann_reads.")
    handle = typed.removeprefix("@").lower()
    if not _VALID.fullmatch(handle):
        if len(handle) > MAX_LENGTH:
            raise InvalidInput(f"That handle is too long ({len(handle)}); at most {MAX_LENGTH}.")
        raise InvalidInput(SHAPE)
    return handle


def base_handle(*names: str | None) -> str:
    """A handle-shaped start from a platform username (or a display name): 'Ann B.' -> 'ann_b'."""
    for name in names:
        if not name:
            continue
        base = re.sub(r"[^a-z0-9_]", "", name.strip().lower().replace(" ", "_").replace(".", "_"))
        base = re.sub(r"_+", "_", base).strip("_")[:20]
        if base and base not in _RESERVED:
            return base if len(base) >= MIN_LENGTH else f"{base}_{secrets.token_hex(2)}"
    return "user"


def candidates(base: str) -> list[str]:
    """The handle a new user gets: the base when free, then random suffixes (a base has at
    most 20 characters, so each fits 32)."""
    return [base, f"{base}_{secrets.token_hex(3)}", f"{base}_{secrets.token_hex(5)}"]


async def reserved(
    session: AsyncSession, handles: Iterable[str], now: datetime, for_user: int | None = None
) -> set[str]:
    """Which of `handles` were given up recently by someone other than `for_user`."""
    wanted = list(handles)
    if not wanted:
        return set()
    rows = await session.scalars(
        select(ReleasedHandle.handle).where(
            ReleasedHandle.handle.in_(wanted),
            ReleasedHandle.until > now,
            (ReleasedHandle.user_id.is_(None)) | (ReleasedHandle.user_id != (for_user or -1)),
        )
    )
    return set(rows)


async def change_handle(session: AsyncSession, user: User, text: str, now: datetime) -> str:
    """Give `user` the handle typed; the old one is reserved for them for RESERVED_FOR."""
    handle = normalize(text)
    if handle == user.handle:
        return handle
    if handle in _RESERVED or await reserved(session, [handle], now, for_user=user.id):
        raise Conflict(f"@{handle} is taken. {await _suggest(session, handle, now)}")
    # Taken: one statement; the unique index still decides a race between two takers.
    holder = await session.scalar(select(User.id).where(User.handle == handle))
    if holder is not None:
        raise Conflict(f"@{handle} is taken. {await _suggest(session, handle, now)}")
    old = user.handle
    try:
        async with session.begin_nested():  # the savepoint keeps the rest of the command
            await session.execute(update(User).where(User.id == user.id).values(handle=handle))
    except IntegrityError:  # the unique index: someone took it this instant
        raise Conflict(f"@{handle} was just taken. Try another.") from None
    set_committed_value(user, "handle", handle)
    await session.execute(delete(ReleasedHandle).where(ReleasedHandle.handle == handle))
    if old:
        await release(session, old, user.id, now)
    return handle


async def release(session: AsyncSession, handle: str, user_id: int | None, now: datetime) -> None:
    """Keep `handle` from others until RESERVED_FOR from now."""
    await session.execute(delete(ReleasedHandle).where(ReleasedHandle.handle == handle))
    await session.execute(
        insert_ignore(
            session, ReleasedHandle, dict(handle=handle, user_id=user_id, until=now + RESERVED_FOR)
        )
    )


async def _suggest(session: AsyncSession, handle: str, now: datetime) -> str:
    """'Free: @ann_2, @ann_3' — a few free variations, checked in one query."""
    stem = handle[: MAX_LENGTH - 3].rstrip("_")
    options = [f"{stem}_{n}" for n in range(1, 6)] + [f"{stem}{now.year}"]
    taken = set(await session.scalars(select(User.handle).where(User.handle.in_(options))))
    taken |= await reserved(session, options, now)
    free = [f"@{o}" for o in options if o not in taken][:3]
    return f"Free: {', '.join(free)}." if free else "Try another."
