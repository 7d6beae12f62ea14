"""Two users become one person: everything of `gone` moves to `keep`, nothing twice.

The merge is a list of steps, one per table, each one or a few set-based statements, so a new
table that points at users (follows, blocks, reports ...) is one more step in STEPS. Steps run
in one transaction after both user rows are locked (bots/commands wraps it in the unit of work),
so a merge is whole or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, delete, false, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.challenges.standings import refresh as refresh_standings
from core.habits.service import forget_loaded, refresh_reminder
from core.social.feed_steps import merge_feed
from core.storage.db import dialect_of, insert_ignore_into
from core.storage.models import (
    Account,
    Badge,
    Block,
    Challenge,
    CheckIn,
    Conversation,
    ConversationMember,
    Follow,
    FrozenDay,
    Habit,
    LedgerEntry,
    LinkCode,
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


@dataclass
class Merge:
    keep: User
    gone: User
    now: datetime
    chats: list[tuple[str, str]] = field(default_factory=list)  # gone's private chats
    merged_habits: int = 0  # habits of the same name whose check-ins were merged
    moved_habits: int = 0


Step = Callable[[AsyncSession, Merge], Awaitable[None]]


async def _accounts(session: AsyncSession, m: Merge) -> None:
    rows = await session.execute(
        select(Account.platform, Account.private_chat).where(Account.user_id == m.gone.id)
    )
    m.chats = [(platform, chat) for platform, chat in rows if chat]
    await session.execute(
        update(Account).where(Account.user_id == m.gone.id).values(user_id=m.keep.id)
    )
    # Its codes are spent: typed now (a /link racing from the other side) they say the two
    # accounts are one person already.
    await session.execute(
        update(LinkCode)
        .where(LinkCode.user_id == m.gone.id)
        .values(user_id=m.keep.id, used_at=func.coalesce(LinkCode.used_at, m.now))
    )


async def _habits(session: AsyncSession, m: Merge) -> None:
    """Habits of the same name become one (check-ins merged, one per day: `keep`'s wins a day
    both logged); the others move over as they are."""
    g, k = aliased(Habit), aliased(Habit)
    pairs = (
        await session.execute(
            select(g.id, k.id, g.start_date, k.start_date)
            .join(k, and_(k.user_id == m.keep.id, k.name_key == g.name_key))
            .where(g.user_id == m.gone.id)
        )
    ).all()
    if pairs:
        checkins = CheckIn.__table__
        moved = (
            select(k.id, CheckIn.local_date, CheckIn.amount, CheckIn.created_at)
            .join(g, g.id == CheckIn.habit_id)
            .join(k, and_(k.user_id == m.keep.id, k.name_key == g.name_key))
            .where(g.user_id == m.gone.id)
        )
        await session.execute(
            insert_ignore_into(dialect_of(session), checkins).from_select(
                ["habit_id", "local_date", "amount", "created_at"], moved
            )
        )
        for _, keep_id, gone_start, keep_start in pairs:
            if gone_start < keep_start:  # the streak may reach back into the other's days
                await session.execute(
                    update(Habit).where(Habit.id == keep_id).values(start_date=gone_start)
                )
        await session.execute(delete(Habit).where(Habit.id.in_([p[0] for p in pairs])))
    m.merged_habits = len(pairs)
    moved_ids = list(
        await session.scalars(
            update(Habit)
            .where(Habit.user_id == m.gone.id)
            .values(user_id=m.keep.id)
            .returning(Habit.id)
        )
    )
    m.moved_habits = len(moved_ids)
    if moved_ids and m.keep.timezone != m.gone.timezone:  # reminders at the person's local time
        for habit in await session.scalars(select(Habit).where(Habit.id.in_(moved_ids))):
            refresh_reminder(habit, m.keep.timezone, m.now)


async def _frozen_days(session: AsyncSession, m: Merge) -> None:
    days = select(literal(m.keep.id), FrozenDay.local_date).where(FrozenDay.user_id == m.gone.id)
    await session.execute(
        insert_ignore_into(dialect_of(session), FrozenDay.__table__).from_select(
            ["user_id", "local_date"], days
        )
    )


async def _ledger(session: AsyncSession, m: Merge) -> None:
    """Every entry moves: the person's balances are the sums of both ledgers."""
    await session.execute(
        update(LedgerEntry).where(LedgerEntry.user_id == m.gone.id).values(user_id=m.keep.id)
    )


async def _move_unless_held(
    session: AsyncSession, m: Merge, model: type[Badge] | type[Membership], key: str
) -> None:
    """Rows `keep` does not have yet move over; the duplicates go."""
    column = getattr(model, key)
    held = select(column).where(model.user_id == m.keep.id)
    await session.execute(
        update(model)
        .where(model.user_id == m.gone.id, column.not_in(held))
        .values(user_id=m.keep.id)
    )
    await session.execute(delete(model).where(model.user_id == m.gone.id))


async def _badges(session: AsyncSession, m: Merge) -> None:
    await _move_unless_held(session, m, Badge, "code")


async def _memberships(session: AsyncSession, m: Merge) -> None:
    await _move_unless_held(session, m, Membership, "group_id")


async def _participants(session: AsyncSession, m: Merge) -> None:
    """One participation per challenge: the earlier join date (so merged check-ins count from
    then) and the better final rank; counts are recounted (standings: see _standings)."""
    g, k = aliased(Participant), aliased(Participant)
    both = (
        await session.execute(
            select(k.id, k.challenge_id, g.join_date, k.join_date, g.final_rank, k.final_rank)
            .join(g, and_(g.challenge_id == k.challenge_id, g.user_id == m.gone.id))
            .where(k.user_id == m.keep.id)
        )
    ).all()
    for keep_id, _, gone_join, keep_join, gone_rank, keep_rank in both:
        ranks = [r for r in (gone_rank, keep_rank) if r is not None]
        await session.execute(
            update(Participant)
            .where(Participant.id == keep_id)
            .values(join_date=min(gone_join, keep_join), final_rank=min(ranks) if ranks else None)
        )
    await _move_unless_held(session, m, Participant, "challenge_id")  # type: ignore[arg-type]
    if both:
        counted = (
            select(func.count())
            .where(Participant.challenge_id == Challenge.id)
            .correlate(Challenge)
            .scalar_subquery()
        )
        await session.execute(
            update(Challenge)
            .where(Challenge.id.in_([row[1] for row in both]))
            .values(participant_count=counted)
        )


async def _challenges_owned(session: AsyncSession, m: Merge) -> None:
    await session.execute(
        update(Challenge).where(Challenge.owner_id == m.gone.id).values(owner_id=m.keep.id)
    )


async def _handles(session: AsyncSession, m: Merge) -> None:
    """The person may take back either handle later; others may not for a while."""
    await session.execute(
        update(ReleasedHandle).where(ReleasedHandle.user_id == m.gone.id).values(user_id=m.keep.id)
    )
    if m.gone.handle:
        await release(session, m.gone.handle, m.keep.id, m.now)


async def _outbox(session: AsyncSession, m: Merge) -> None:
    """Queued messages to the accounts that moved: their buttons now act for `keep`."""
    if not m.chats:
        return
    chats = [chat for _, chat in m.chats]
    rows = await session.scalars(
        select(Outbox).where(Outbox.status == "pending", Outbox.chat.in_(chats))
    )
    for row in rows:
        data = dict(row.data)
        changed = False
        if data.get("user_id") == m.gone.id:
            data["user_id"], changed = m.keep.id, True
        reply = data.get("reply")
        if isinstance(reply, dict) and reply.get("owner") == m.gone.id:
            data["reply"], changed = {**reply, "owner": m.keep.id}, True
        if changed:
            row.data = data


async def _web_tokens(session: AsyncSession, m: Merge) -> None:
    """Login links and seen initData move with the person: a link asked for before the merge
    still logs in once, as the merged person, and a seen initData stays refused."""
    await session.execute(
        update(WebToken).where(WebToken.user_id == m.gone.id).values(user_id=m.keep.id)
    )


async def _merged(session: AsyncSession, m: Merge) -> None:
    """Remember that `gone` is `keep` now (and whoever became `gone` before)."""
    await session.execute(
        update(MergedUser).where(MergedUser.into_id == m.gone.id).values(into_id=m.keep.id)
    )
    session.add(MergedUser(old_id=m.gone.id, into_id=m.keep.id))


async def _claims(session: AsyncSession, m: Merge) -> None:
    """The streak-claim cycle of whichever claimed last goes on."""
    keep, gone = m.keep, m.gone
    if gone.last_claim_on is not None and (
        keep.last_claim_on is None or gone.last_claim_on > keep.last_claim_on
    ):
        await session.execute(
            update(User)
            .where(User.id == keep.id)
            .values(last_claim_on=gone.last_claim_on, claim_cycle_day=gone.claim_cycle_day)
        )


async def _follows(session: AsyncSession, m: Merge) -> None:
    """The two accounts' follows become the person's, once each: a follow between the two
    goes, and an accepted follow wins over a pending request for the same person."""
    for side, other_side in (("follower_id", "followee_id"), ("followee_id", "follower_id")):
        mine, other = getattr(Follow, side), getattr(Follow, other_side)
        inner = aliased(Follow)  # the subqueries read the table the statement changes
        i_mine, i_other = getattr(inner, side), getattr(inner, other_side)
        await session.execute(delete(Follow).where(mine == m.gone.id, other == m.keep.id))
        accepted = select(i_other).where(i_mine == m.gone.id, inner.status == "accepted")
        await session.execute(  # keep's pending request, where gone's follow was accepted
            update(Follow)
            .where(mine == m.keep.id, other.in_(accepted))
            .values(status="accepted")
            .execution_options(synchronize_session=False)
        )
        held = select(i_other).where(i_mine == m.keep.id)
        await session.execute(
            update(Follow)
            .where(mine == m.gone.id, other.not_in(held))
            .values({side: m.keep.id})
            .execution_options(synchronize_session=False)
        )
        await session.execute(delete(Follow).where(mine == m.gone.id))


async def _blocks(session: AsyncSession, m: Merge) -> None:
    for side, other_side in (("blocker_id", "blocked_id"), ("blocked_id", "blocker_id")):
        mine, other = getattr(Block, side), getattr(Block, other_side)
        inner = aliased(Block)
        await session.execute(delete(Block).where(mine == m.gone.id, other == m.keep.id))
        held = select(getattr(inner, other_side)).where(getattr(inner, side) == m.keep.id)
        await session.execute(
            update(Block)
            .where(mine == m.gone.id, other.not_in(held))
            .values({side: m.keep.id})
            .execution_options(synchronize_session=False)
        )
        await session.execute(delete(Block).where(mine == m.gone.id))


async def _messages(session: AsyncSession, m: Merge) -> None:
    """Direct messages: what either sent is the person's; a conversation both were in keeps
    one membership; receipts once per message. A two-person conversation of the gone account
    stays as it is (no longer the pair's: the person's own pair with them is another)."""
    both = select(ConversationMember.conversation_id).where(ConversationMember.user_id == m.keep.id)
    await session.execute(
        update(Message).where(Message.sender_id == m.gone.id).values(sender_id=m.keep.id)
    )
    moved = select(ConversationMember.conversation_id).where(
        ConversationMember.user_id == m.gone.id
    )
    await session.execute(
        update(Conversation)
        .where(Conversation.id.in_(moved), Conversation.pair.is_not(None))
        .values(pair=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        delete(ConversationMember).where(
            ConversationMember.user_id == m.gone.id, ConversationMember.conversation_id.in_(both)
        )
    )
    await session.execute(
        update(ConversationMember)
        .where(ConversationMember.user_id == m.gone.id)
        .values(user_id=m.keep.id)
        .execution_options(synchronize_session=False)
    )
    held = select(MessageReceipt.message_id).where(MessageReceipt.user_id == m.keep.id)
    await session.execute(
        delete(MessageReceipt).where(
            MessageReceipt.user_id == m.gone.id, MessageReceipt.message_id.in_(held)
        )
    )
    await session.execute(
        update(MessageReceipt)
        .where(MessageReceipt.user_id == m.gone.id)
        .values(user_id=m.keep.id)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(ReplyTarget).where(ReplyTarget.user_id == m.gone.id).values(user_id=m.keep.id)
    )


async def _reports(session: AsyncSession, m: Merge) -> None:
    """Reports by and about the gone account are the person's; an open report the person
    already has about the same target counts once, and reports of oneself go."""
    await session.execute(
        delete(Report).where(
            or_(
                and_(Report.reporter_id == m.gone.id, Report.target_user_id == m.keep.id),
                and_(Report.reporter_id == m.keep.id, Report.target_user_id == m.gone.id),
            )
        )
    )
    inner = aliased(Report)
    open_by_keep = select(inner.target_user_id).where(
        inner.reporter_id == m.keep.id, inner.status == "open"
    )
    await session.execute(
        delete(Report).where(
            Report.reporter_id == m.gone.id,
            Report.status == "open",
            Report.target_user_id.in_(open_by_keep),
        )
    )
    await session.execute(
        update(Report).where(Report.reporter_id == m.gone.id).values(reporter_id=m.keep.id)
    )
    await session.execute(
        update(Report).where(Report.target_user_id == m.gone.id).values(target_user_id=m.keep.id)
    )


async def _standings(session: AsyncSession, m: Merge) -> None:
    """The kept standings follow the merged check-ins and join dates, and the habits that
    running challenges count are marked so their check-ins keep them."""
    counted = await refresh_standings(session, m.keep.id)
    await session.execute(
        update(Habit)
        .where(Habit.user_id == m.keep.id)
        .values(in_challenge=Habit.name_key.in_(counted) if counted else false())
        .execution_options(synchronize_session=False)
    )


async def _feed(session: AsyncSession, m: Merge) -> None:
    await merge_feed(session, m.keep.id, m.gone.id)


STEPS: list[Step] = [
    _accounts,
    _habits,
    _frozen_days,
    _ledger,
    _badges,
    _memberships,
    _participants,
    _challenges_owned,
    _handles,
    _outbox,
    _claims,
    _follows,
    _blocks,
    _messages,
    _reports,
    _feed,
    _standings,
    _web_tokens,
    _merged,
]


async def merge_users(session: AsyncSession, keep: User, gone: User, now: datetime) -> Merge:
    """Move everything of `gone` to `keep`, then delete `gone`. The caller holds both rows'
    locks. The session's loaded objects are stale afterwards and are let go."""
    await session.flush()  # the command's own pending changes first, then set-based moves
    merge = Merge(keep, gone, now)
    for step in STEPS:
        await step(session, merge)
    await session.flush()
    await session.execute(delete(User).where(User.id == gone.id))
    session.expunge_all()
    forget_loaded(session)
    return merge
