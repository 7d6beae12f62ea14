"""/deleteme: the person and their data go; a nameless row stays as "deleted user".

The row stays because challenges they created (with other people in them) and, later, what
others did with them point at it. Everything personal goes: accounts (so writing to the bot
again starts a new user), habits and check-ins, the ledger (nobody else's balance is a sum
over it), badges, memberships, participations (each challenge's count goes down with it, and
boards, computed from check-ins, no longer list them), codes, queued messages to them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.habits.service import forget_loaded
from core.social.feed_steps import delete_feed
from core.storage.models import (
    Account,
    Badge,
    Block,
    Challenge,
    ConversationMember,
    Follow,
    FrozenDay,
    Habit,
    LedgerEntry,
    LinkCode,
    LinkTry,
    Membership,
    MergedUser,
    Message,
    MessageReceipt,
    Outbox,
    Participant,
    ReleasedHandle,
    ReplyTarget,
    Report,
    User,
    WebToken,
)
from core.users.handles import release

DELETED_NAME = "deleted user"


@dataclass
class Deletion:
    user: User
    now: datetime
    chats: list[str] = field(default_factory=list)  # their private chats
    habits: int = 0
    accounts: int = 0


Step = Callable[[AsyncSession, Deletion], Awaitable[None]]


async def _participations(session: AsyncSession, d: Deletion) -> None:
    left = list(
        await session.scalars(
            delete(Participant)
            .where(Participant.user_id == d.user.id)
            .returning(Participant.challenge_id)
        )
    )
    if left:
        await session.execute(
            update(Challenge)
            .where(Challenge.id.in_(left))
            .values(participant_count=Challenge.participant_count - 1)
        )


async def _habits(session: AsyncSession, d: Deletion) -> None:
    """Habits, and with them (ON DELETE CASCADE) their check-ins."""
    deleted = await session.scalars(
        delete(Habit).where(Habit.user_id == d.user.id).returning(Habit.id)
    )
    d.habits = len(list(deleted))


async def _own_rows(session: AsyncSession, d: Deletion) -> None:
    """The ledger (nobody else's balance sums over it), badges, memberships, freezes, codes."""
    for model in (LedgerEntry, Badge, Membership, FrozenDay, LinkCode, LinkTry):
        await session.execute(delete(model).where(model.user_id == d.user.id))
    await session.execute(delete(MergedUser).where(MergedUser.into_id == d.user.id))
    await session.execute(
        update(ReleasedHandle).where(ReleasedHandle.user_id == d.user.id).values(user_id=None)
    )


async def _web_tokens(session: AsyncSession, d: Deletion) -> None:
    """Unused login links die with the person (a session cookie finds no user then)."""
    await session.execute(delete(WebToken).where(WebToken.user_id == d.user.id))


async def _outbox(session: AsyncSession, d: Deletion) -> None:
    """Reminders and announcements waiting for them are not sent (answers still are)."""
    d.chats = [
        chat
        for chat in await session.scalars(
            select(Account.private_chat).where(Account.user_id == d.user.id)
        )
        if chat
    ]
    if d.chats:
        await session.execute(
            delete(Outbox).where(
                Outbox.status == "pending", Outbox.chat.in_(d.chats), Outbox.kind != "answer"
            )
        )


async def _accounts(session: AsyncSession, d: Deletion) -> None:
    """Writing to the bot again from these accounts starts a new user."""
    deleted = await session.scalars(
        delete(Account).where(Account.user_id == d.user.id).returning(Account.id)
    )
    d.accounts = len(list(deleted))


async def _profile(session: AsyncSession, d: Deletion) -> None:
    user = d.user
    if user.handle:  # nobody may pose as them under their old handle for a while
        await release(session, user.handle, None, d.now)
    await session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            handle=None,
            name=DELETED_NAME,
            timezone="UTC",
            profile_public=False,
            quiet_start=None,
            quiet_end=None,
            nudges=False,
            next_nudge_at=None,
            last_claim_on=None,
            claim_cycle_day=0,
            freezes_checked_on=None,
            next_freeze_at=None,
            bio=None,
            verified=False,
            deleted_at=d.now,
        )
    )


async def _follows(session: AsyncSession, d: Deletion) -> None:
    """Nobody follows a deleted user, nor does it follow anyone (counts stay true)."""
    await session.execute(
        delete(Follow).where(or_(Follow.follower_id == d.user.id, Follow.followee_id == d.user.id))
    )


async def _blocks(session: AsyncSession, d: Deletion) -> None:
    await session.execute(
        delete(Block).where(or_(Block.blocker_id == d.user.id, Block.blocked_id == d.user.id))
    )


async def _messages(session: AsyncSession, d: Deletion) -> None:
    """Their direct messages go (receipts with them), and they leave every conversation;
    what others sent them goes from their side only (the senders keep theirs)."""
    uid = d.user.id
    await session.execute(delete(Message).where(Message.sender_id == uid))
    await session.execute(delete(MessageReceipt).where(MessageReceipt.user_id == uid))
    await session.execute(delete(ConversationMember).where(ConversationMember.user_id == uid))
    await session.execute(delete(ReplyTarget).where(ReplyTarget.user_id == uid))


async def _reports(session: AsyncSession, d: Deletion) -> None:
    """What they reported goes with them; reports about them stay with the operators."""
    await session.execute(delete(Report).where(Report.reporter_id == d.user.id))


async def _feed(session: AsyncSession, d: Deletion) -> None:
    await delete_feed(session, d.user.id)


# One step per table, like the merge's (core/users/merge.py).
STEPS: list[Step] = [
    _participations,
    _habits,
    _own_rows,
    _web_tokens,
    _outbox,
    _accounts,
    _follows,
    _blocks,
    _messages,
    _reports,
    _feed,
    _profile,
]


async def delete_user(session: AsyncSession, user: User, now: datetime) -> Deletion:
    await session.flush()  # the command's own pending changes first, then set-based deletes
    deletion = Deletion(user, now)
    for step in STEPS:
        await step(session, deletion)
    session.expunge_all()  # loaded objects are stale now
    forget_loaded(session)
    return deletion
