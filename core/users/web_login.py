"""The web companion's single-use credentials: login links and seen Mini App initData.

A login link carries a random nonce; only its hash is stored (like /link codes), so a leaked
database opens nobody's page. It expires after LINK_TTL and works once. A person may ask for
at most LINKS_PER_WINDOW links in LINK_WINDOW: a chat cannot be used to mint links in bulk.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict
from core.storage.models import WebToken

LINK_TTL = timedelta(minutes=15)
LINK_WINDOW = timedelta(minutes=10)
LINKS_PER_WINDOW = 5
INIT_DATA_TTL = timedelta(hours=1)  # Telegram's auth_date may be this old; kept as long


def _mac(key: bytes, nonce: str) -> str:
    digest = hmac.new(key, f"habitbot web login\0{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:22]


def new_login_token(key: bytes) -> tuple[str, str]:
    """(token for the link, nonce to store hashed). Its MAC lets a forged token be refused
    without a database read; the stored nonce makes it single-use and expiring."""
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_mac(key, nonce)}", nonce


def login_nonce(key: bytes, token: str) -> str | None:
    """The nonce of a token this bot signed, else None."""
    nonce, _, mac = token.partition(".")
    if not nonce or not hmac.compare_digest(mac.encode(), _mac(key, nonce).encode()):
        return None
    return nonce


def _key(kind: str, secret: str) -> str:
    return f"{kind}:{hashlib.sha256(secret.encode()).hexdigest()}"


async def issue_login(
    session: AsyncSession, user_id: int, account_id: int | None, nonce: str, now: datetime
) -> datetime:
    """Store a login link's nonce for `user_id`; returns when it expires. Refused past the
    per-person rate."""
    recent = await session.scalar(
        select(func.count())
        .select_from(WebToken)
        .where(
            WebToken.user_id == user_id,
            WebToken.kind == "login",
            WebToken.created_at > now - LINK_WINDOW,
        )
    )
    if (recent or 0) >= LINKS_PER_WINDOW:
        minutes = int(LINK_WINDOW.total_seconds() // 60)
        raise Conflict(
            f"You asked for {LINKS_PER_WINDOW} login links in {minutes} minutes; "
            "use one of those or try again in a few minutes."
        )
    await session.execute(
        delete(WebToken).where(WebToken.user_id == user_id, WebToken.expires_at < now)
    )
    expires = now + LINK_TTL
    session.add(
        WebToken(
            key=_key("login", nonce),
            kind="login",
            user_id=user_id,
            account_id=account_id,
            created_at=now,
            expires_at=expires,
        )
    )
    return expires


@dataclass(frozen=True)
class Redeemed:
    user_id: int
    account_id: int | None


async def redeem_login(session: AsyncSession, nonce: str, now: datetime) -> Redeemed | None:
    """The link's owner, once: None when unknown, expired or used (one UPDATE decides, so two
    tabs opening it at once log in one of them)."""
    row = (
        await session.execute(
            update(WebToken)
            .where(
                WebToken.key == _key("login", nonce),
                WebToken.used_at.is_(None),
                WebToken.expires_at > now,
            )
            .values(used_at=now)
            .returning(WebToken.user_id, WebToken.account_id)
        )
    ).first()
    return Redeemed(row[0], row[1]) if row else None


async def first_use_of_init_data(
    session: AsyncSession, init_hash: str, user_id: int, now: datetime
) -> bool:
    """Record a verified initData's hash; False when it was exchanged before (a replay)."""
    key = _key("initdata", init_hash)
    if await session.get(WebToken, key) is not None:
        return False
    await session.execute(
        delete(WebToken).where(WebToken.kind == "initdata", WebToken.expires_at < now)
    )
    session.add(
        WebToken(
            key=key,
            kind="initdata",
            user_id=user_id,
            created_at=now,
            expires_at=now + INIT_DATA_TTL,
            used_at=now,
        )
    )
    await session.flush()  # a concurrent twin meets the primary key here
    return True
