"""Button actions too long for a platform's callback data, kept behind a short random token."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.models import ActionToken

TOKEN_BYTES = 9  # 12 url-safe characters; fits the 16-character column and Telegram's 64 bytes


async def store_action(session: AsyncSession, action: str, now: datetime) -> str:
    """Keep `action` and return a token that finds it again."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(ActionToken(token=token, action=action, created_at=now))
    await session.flush()
    return token


async def load_action(session: AsyncSession, token: str) -> str | None:
    """The action behind a token, or None when it is unknown (tampered with or purged)."""
    if not token or len(token) > 16:
        return None
    return await session.scalar(select(ActionToken.action).where(ActionToken.token == token))


async def purge_actions(session: AsyncSession, before: datetime) -> int:
    """Forget tokens created before `before`; their buttons then say they expired."""
    result = await session.execute(delete(ActionToken).where(ActionToken.created_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
