"""Read-only look-ups of who someone is, for adapters' menus (e.g. Discord autocomplete):
they never create a user, unlike resolve_account."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.models import Account


async def account_user_id(session: AsyncSession, platform: str, external_id: str) -> int | None:
    """The user behind a platform account, or None if that account never talked to the bot."""
    return await session.scalar(
        select(Account.user_id).where(
            Account.platform == platform, Account.external_id == external_id
        )
    )
