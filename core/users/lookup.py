"""Read-only look-ups of who someone is, for adapters' menus (e.g. Discord autocomplete):
they never create a user, unlike resolve_account."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage.models import Account, MergedUser


async def account_user_id(session: AsyncSession, platform: str, external_id: str) -> int | None:
    """The user behind a platform account, or None if that account never talked to the bot."""
    return await session.scalar(
        select(Account.user_id).where(
            Account.platform == platform, Account.external_id == external_id
        )
    )


async def merged_into(session: AsyncSession, old_id: int, user_id: int) -> bool:
    """Whether user `old_id` was merged into `user_id` by /link (its buttons are theirs)."""
    into = await session.scalar(select(MergedUser.into_id).where(MergedUser.old_id == old_id))
    return into == user_id
