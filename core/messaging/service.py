"""Direct messages: start a conversation (/dm), write to one (/chat, a reply), read the inbox
and a conversation, leave it, delete for oneself.

Every text is stored as a Fernet token (core/storage/cipher.py); the outbox row that relays it
carries the token, never the text. A refusal for consent (a block, a DM policy) says only that
the message could not be delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.delivery import register_check, register_outcome
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.messaging.rules import (
    FLOOD_LIMIT,
    FLOOD_WINDOW,
    MAX_PEOPLE,
    clean_text,
    may_start,
    pair_key,
)
from core.outbox import enqueue
from core.social.lookup import Person, find_person, visible_ids
from core.storage import cipher
from core.storage.db import insert_ignore
from core.storage.models import (
    Account,
    Block,
    Conversation,
    ConversationMember,
    Message,
    MessageReceipt,
    User,
)

PAGE = 10  # messages a page of /chat shows; conversations a page of /inbox
KIND = "dm"  # the outbox kind of a relayed message


class Undeliverable(Forbidden):
    """Consent said no (a block, a DM policy): the sender learns only that much."""


@dataclass(frozen=True)
class Sent:
    message_id: int
    conversation_id: int
    delivered: list[str] = field(default_factory=list)  # handles queued for delivery now
    waiting: list[str] = field(default_factory=list)  # handles that get it when they next come
    refused: int = 0  # members of a group it could not be delivered to
    group: bool = False


def _handle(user: User) -> str:
    return user.handle or f"user{user.id}"


async def _flood(session: AsyncSession, sender_id: int, now: datetime) -> None:
    since = now - timedelta(seconds=FLOOD_WINDOW)
    count = await session.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.sender_id == sender_id, Message.created_at > since)
    )
    if (count or 0) >= FLOOD_LIMIT:
        raise Conflict(
            f"Slow down: at most {FLOOD_LIMIT} messages a minute. Try again in a minute."
        )


async def start(
    session: AsyncSession, sender: User, handles: list[str], text: str, now: datetime
) -> Sent:
    """/dm @a [@b ...] text: the pair's conversation (one per pair) or a new group one."""
    body = clean_text(text)
    keys: list[str] = []
    for h in handles:
        if h.lower().lstrip("@") not in [k.lower().lstrip("@") for k in keys]:
            keys.append(h)
    if not keys:
        raise InvalidInput("Name who it is for, e.g. @ann.")
    if len(keys) > MAX_PEOPLE - 1:
        raise InvalidInput(
            f"A conversation has at most {MAX_PEOPLE} people: you and {MAX_PEOPLE - 1} more "
            f"({len(keys)} named)."
        )
    people: list[Person] = []
    for h in keys:
        person = await find_person(session, h, sender.id)
        if person.is_self:
            raise InvalidInput("You can't message yourself.")
        if person.i_blocked:
            raise Forbidden(
                f"You blocked @{person.handle}. {{}} first.", ("unblock", f"@{person.handle}")
            )
        if person.user.deleted_at is not None or not may_start(
            person.user.dm_policy, person.follows_me == "accepted"
        ):
            raise Undeliverable(f"Your message could not be delivered to @{person.handle}.")
        people.append(person)
    await _flood(session, sender.id, now)
    if len(people) == 1:
        conversation_id = await _pair(session, sender.id, people[0].user.id, now)
    else:
        conversation = Conversation(created_at=now, last_message_at=now)
        session.add(conversation)
        await session.flush()
        conversation_id = conversation.id
        for uid in [sender.id, *(p.user.id for p in people)]:
            session.add(_member(conversation_id, uid, now))
        await session.flush()
    return await _post(session, conversation_id, sender, body, now, group=len(people) > 1)


def _member(conversation_id: int, user_id: int, now: datetime) -> ConversationMember:
    return ConversationMember(
        conversation_id=conversation_id,
        user_id=user_id,
        joined_at=now,
        last_read_id=0,
        cleared_id=0,
    )


async def _pair(session: AsyncSession, a: int, b: int, now: datetime) -> int:
    """The two people's conversation, made once (two first messages racing end as one); a
    /dm to someone who left it brings them back. Two statements once it exists."""
    key = pair_key(a, b)
    conversation_id = await session.scalar(select(Conversation.id).where(Conversation.pair == key))
    if conversation_id is None:
        await session.execute(
            insert_ignore(
                session, Conversation, dict(pair=key, created_at=now, last_message_at=now)
            )
        )
        conversation_id = await session.scalar(
            select(Conversation.id).where(Conversation.pair == key)
        )
        assert conversation_id is not None
        for uid in (a, b):
            await session.execute(
                insert_ignore(
                    session,
                    ConversationMember,
                    dict(
                        conversation_id=conversation_id,
                        user_id=uid,
                        joined_at=now,
                        last_read_id=0,
                        cleared_id=0,
                    ),
                )
            )
        return conversation_id
    await session.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.left_at.is_not(None),
        )
        .values(left_at=None, joined_at=now)
        .execution_options(synchronize_session=False)
    )
    return conversation_id


async def _membership(
    session: AsyncSession, conversation_id: int, user_id: int
) -> ConversationMember:
    """The caller's membership; anyone else's conversation looks like no conversation."""
    member = await session.get(ConversationMember, (conversation_id, user_id))
    if member is None:
        raise NotFound(
            f"There is no conversation #{conversation_id}. {{}} lists yours.", ("inbox",)
        )
    return member


async def write(
    session: AsyncSession, conversation_id: int, sender: User, text: str, now: datetime
) -> Sent:
    """/chat <id> text, or a reply to a relayed message."""
    body = clean_text(text)
    member = await _membership(session, conversation_id, sender.id)
    if member.left_at is not None:
        raise Conflict(f"You left conversation #{conversation_id}.")
    conversation = await session.get_one(Conversation, conversation_id)
    await _flood(session, sender.id, now)
    return await _post(session, conversation_id, sender, body, now, group=conversation.pair is None)


async def _post(
    session: AsyncSession,
    conversation_id: int,
    sender: User,
    body: str,
    now: datetime,
    group: bool,
) -> Sent:
    rows = (
        (
            await session.execute(
                select(User)
                .join(ConversationMember, ConversationMember.user_id == User.id)
                .where(
                    ConversationMember.conversation_id == conversation_id,
                    ConversationMember.left_at.is_(None),
                    User.id != sender.id,
                )
                .order_by(User.id)
            )
        )
        .scalars()
        .all()
    )
    others = [u for u in rows if u.deleted_at is None]
    allowed = await visible_ids(session, sender.id, [u.id for u in others])
    to = [u for u in others if u.id in allowed]
    refused = len(others) - len(to)
    if not to:  # a block since (racing it, too): nothing is stored for anyone
        raise Undeliverable("Your message could not be delivered.")
    token = cipher.current().encrypt(body)
    message = Message(
        conversation_id=conversation_id, sender_id=sender.id, body=token, created_at=now
    )
    session.add(message)
    await session.flush()
    chats = await _chats(session, [u.id for u in to])
    receipts = [
        MessageReceipt(
            message_id=message.id, user_id=sender.id, status="own", hidden=False, tries=0
        )
    ]
    sent = Sent(message.id, conversation_id, refused=refused, group=group)
    names = [_handle(u) for u in [sender, *to]]
    for user in to:
        where = chats.get(user.id, [])
        status = "queued" if where else "waiting"
        receipts.append(
            MessageReceipt(
                message_id=message.id, user_id=user.id, status=status, hidden=False, tries=0
            )
        )
        (sent.delivered if where else sent.waiting).append(_handle(user))
        for platform, chat in where:
            await _relay(
                session,
                message,
                sender,
                user.id,
                _handle(user),
                platform,
                chat,
                names,
                group,
                now,
                0,
            )
    session.add_all(receipts)
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(last_message_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.user_id == sender.id,
        )
        .values(last_read_id=message.id)
        .execution_options(synchronize_session=False)
    )
    return sent


async def _chats(session: AsyncSession, user_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Where each user can be written to privately now, on every linked platform."""
    found: dict[int, list[tuple[str, str]]] = {}
    if not user_ids:
        return found
    rows = await session.execute(
        select(Account.user_id, Account.platform, Account.private_chat).where(
            Account.user_id.in_(user_ids),
            Account.private_chat.is_not(None),
            Account.unreachable.is_(False),
        )
    )
    for user_id, platform, chat in rows:
        found.setdefault(user_id, []).append((platform, chat))
    return found


async def _relay(
    session: AsyncSession,
    message: Message,
    sender: User,
    user_id: int,
    reader: str,
    platform: str,
    chat: str,
    names: list[str],
    group: bool,
    now: datetime,
    tries: int,
    late: bool = False,
) -> None:
    await enqueue(
        session,
        platform=platform,
        chat=chat,
        kind=KIND,
        data=dict(
            message_id=message.id,
            conversation_id=message.conversation_id,
            user_id=user_id,
            reader=reader,
            sender_id=sender.id,
            sender=_handle(sender),
            members=names if group else [],
            body=message.body,  # the token: no table holds the text
            late=late,
        ),
        dedupe_key=f"dm:{message.id}:{user_id}:{platform}:{chat}:{tries}",
        now=now,
    )


# ------------------------------------------------------------------ delivery outcomes


async def delivered(session: AsyncSession, data: dict[str, object], now: datetime) -> None:
    """The outbox sent a relayed message: it is delivered; one that waited for its reader
    tells the sender it arrived."""
    result = await session.execute(
        update(MessageReceipt)
        .where(
            MessageReceipt.message_id == data["message_id"],
            MessageReceipt.user_id == data["user_id"],
            MessageReceipt.status != "delivered",
        )
        .values(status="delivered")
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount or not data.get("late"):  # type: ignore[attr-defined]
        return
    reader = await session.get(User, data["user_id"])
    sender_id = int(data["sender_id"])  # type: ignore[call-overload]
    for platform, chat in (await _chats(session, [sender_id])).get(sender_id, []):
        await enqueue(
            session,
            platform=platform,
            chat=chat,
            kind="dm_delivered",
            data=dict(
                user_id=sender_id,
                handle=_handle(reader) if reader else "?",
                message_id=data["message_id"],
                conversation_id=data["conversation_id"],
            ),
            dedupe_key=f"dm_delivered:{data['message_id']}:{data['user_id']}:{chat}",
            now=now,
        )


async def undelivered(session: AsyncSession, data: dict[str, object], now: datetime) -> None:
    """The platform refused the chat for good (the bot blocked, no shared server): the
    message waits for the reader's next visit."""
    await session.execute(
        update(MessageReceipt)
        .where(
            MessageReceipt.message_id == data["message_id"],
            MessageReceipt.user_id == data["user_id"],
            MessageReceipt.status == "queued",
        )
        .values(status="waiting")
        .execution_options(synchronize_session=False)
    )


async def deliver_waiting(session: AsyncSession, user_id: int, now: datetime) -> int:
    """The user can be reached again (they wrote to the bot): what waited for them goes out
    now, and each sender is told once it arrives. Returns how many were queued."""
    chats = (await _chats(session, [user_id])).get(user_id, [])
    if not chats:
        return 0
    sender = aliased(User)
    rows = (
        await session.execute(
            select(MessageReceipt, Message, sender)
            .join(Message, Message.id == MessageReceipt.message_id)
            .join(sender, sender.id == Message.sender_id)
            .where(MessageReceipt.user_id == user_id, MessageReceipt.status == "waiting")
            .order_by(Message.id)
            .limit(200)
        )
    ).all()
    if not rows:
        return 0
    conversations = {m.conversation_id for _, m, _ in rows}
    names = await _member_names(session, conversations)
    group_ids = set(
        await session.scalars(
            select(Conversation.id).where(
                Conversation.id.in_(conversations), Conversation.pair.is_(None)
            )
        )
    )
    reader = await session.get_one(User, user_id)
    blocked = await _blocked_pairs(session, {(m.sender_id, user_id) for _, m, _ in rows})
    for receipt, message, from_user in rows:
        if (message.sender_id, user_id) in blocked:  # blocked while it waited: never sent
            receipt.status = "refused"
            continue
        receipt.status, receipt.tries = "queued", receipt.tries + 1
        group = message.conversation_id in group_ids
        for platform, chat in chats:
            await _relay(
                session,
                message,
                from_user,
                user_id,
                _handle(reader),
                platform,
                chat,
                names.get(message.conversation_id, []),
                group,
                now,
                receipt.tries,
                late=True,
            )
    return len(rows)


async def _member_names(session: AsyncSession, conversations: set[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        select(ConversationMember.conversation_id, User.handle, User.id)
        .join(User, User.id == ConversationMember.user_id)
        .where(ConversationMember.conversation_id.in_(conversations))
        .order_by(User.id)
    )
    out: dict[int, list[str]] = {}
    for conversation_id, handle, uid in rows:
        out.setdefault(conversation_id, []).append(handle or f"user{uid}")
    return out


# ------------------------------------------------------------------ reading


@dataclass(frozen=True)
class InboxItem:
    conversation_id: int
    names: list[str]  # the other members' handles
    unread: int
    last_at: datetime
    group: bool
    left: bool


def _visible_to(member: type[ConversationMember] | ConversationMember, user_id: int) -> object:
    """Messages the member has not deleted for themselves."""
    hidden = select(MessageReceipt.message_id).where(
        MessageReceipt.message_id == Message.id,
        MessageReceipt.user_id == user_id,
        MessageReceipt.hidden.is_(True),
    )
    return and_(Message.id > member.cleared_id, ~hidden.exists())


async def inbox(session: AsyncSession, user_id: int, page: int) -> tuple[list[InboxItem], bool]:
    """Conversations newest first, with unread counts; (items, whether there are more)."""
    member = ConversationMember
    unread = (
        select(func.count())
        .select_from(Message)
        .where(
            Message.conversation_id == member.conversation_id,
            Message.id > member.last_read_id,
            Message.sender_id != user_id,
            _visible_to(member, user_id),  # type: ignore[arg-type]
        )
        .scalar_subquery()
    )
    shown = (
        select(Message.id)
        .where(Message.conversation_id == member.conversation_id, _visible_to(member, user_id))  # type: ignore[arg-type]
        .exists()
    )
    rows = (
        await session.execute(
            select(Conversation, member.left_at, unread)
            .join(member, member.conversation_id == Conversation.id)
            .where(member.user_id == user_id, shown)
            .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
            .limit(PAGE + 1)
            .offset((page - 1) * PAGE)
        )
    ).all()
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    names = await _member_names(session, {c.id for c, _, _ in rows}) if rows else {}
    me = await session.get(User, user_id)
    mine = me.handle if me else None
    items = [
        InboxItem(
            c.id,
            [n for n in names.get(c.id, []) if n != mine],
            count or 0,
            c.last_message_at,
            c.pair is None,
            left is not None,
        )
        for c, left, count in rows
    ]
    return items, more


@dataclass(frozen=True)
class Shown:
    id: int
    sender: str
    mine: bool
    text: str
    at: datetime


@dataclass(frozen=True)
class ChatPage:
    conversation_id: int
    names: list[str]
    messages: list[Shown]  # oldest first
    page: int
    more: bool  # older messages exist
    left: bool
    group: bool


async def read(session: AsyncSession, user_id: int, conversation_id: int, page: int) -> ChatPage:
    """A page of the conversation, newest page first; the first page marks it read."""
    member = await _membership(session, conversation_id, user_id)
    conversation = await session.get_one(Conversation, conversation_id)
    rows = (
        await session.execute(
            select(Message, User.handle)
            .join(User, User.id == Message.sender_id)
            .where(Message.conversation_id == conversation_id, _visible_to(member, user_id))
            .order_by(Message.id.desc())
            .limit(PAGE + 1)
            .offset((page - 1) * PAGE)
        )
    ).all()
    more = len(rows) > PAGE
    box = cipher.current()
    shown = [
        Shown(
            m.id,
            handle or f"user{m.sender_id}",
            m.sender_id == user_id,
            box.decrypt(m.body, f"message {m.id}"),
            m.created_at,
        )
        for m, handle in reversed(rows[:PAGE])
    ]
    if page == 1 and rows:
        newest = rows[0][0].id
        if newest > member.last_read_id:
            member.last_read_id = newest
    names = (await _member_names(session, {conversation_id})).get(conversation_id, [])
    me = await session.get(User, user_id)
    others = [n for n in names if not me or n != me.handle]
    return ChatPage(
        conversation_id,
        others,
        shown,
        page,
        more,
        member.left_at is not None,
        conversation.pair is None,
    )


async def leave(session: AsyncSession, user_id: int, conversation_id: int, now: datetime) -> None:
    member = await _membership(session, conversation_id, user_id)
    if member.left_at is not None:
        raise Conflict(f"You left conversation #{conversation_id} already.")
    member.left_at = now


async def clear(session: AsyncSession, user_id: int, conversation_id: int) -> int:
    """Delete the whole conversation for the caller: the others keep it. Returns how many
    messages it hid."""
    member = await _membership(session, conversation_id, user_id)
    newest = await session.scalar(
        select(func.max(Message.id)).where(Message.conversation_id == conversation_id)
    )
    hidden = await session.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.conversation_id == conversation_id, _visible_to(member, user_id))
    )
    member.cleared_id = max(member.cleared_id, newest or 0)
    return hidden or 0


async def hide(session: AsyncSession, user_id: int, message_id: int) -> int:
    """Delete one message for the caller (sent or received); returns its conversation id."""
    receipt = await session.get(MessageReceipt, (message_id, user_id))
    if receipt is None:
        raise NotFound(f"There is no message #{message_id}.")
    if receipt.hidden:
        raise Conflict(f"You deleted message #{message_id} already.")
    receipt.hidden = True
    conversation_id = await session.scalar(
        select(Message.conversation_id).where(Message.id == message_id)
    )
    return int(conversation_id or 0)


async def snapshot(
    session: AsyncSession, reporter_id: int, target_id: int, limit: int = 20
) -> list[dict[str, object]]:
    """For a report: the last `limit` messages between the two (their 1:1 conversation), as
    stored (encrypted), so operators can read them and rotation keeps them readable."""
    conversation_id = await session.scalar(
        select(Conversation.id).where(Conversation.pair == pair_key(reporter_id, target_id))
    )
    if conversation_id is None:
        return []
    rows = await session.execute(
        select(Message.id, Message.sender_id, Message.body, Message.created_at)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return [{"id": i, "sender_id": s, "body": b, "at": at.isoformat()} for i, s, b, at in rows][
        ::-1
    ]


async def overtaken(
    session: AsyncSession, items: list[tuple[int, dict[str, Any]]], now: datetime
) -> dict[int, str]:
    """Relays that must not go out after all: a block between sender and reader since it was
    queued (a message racing a block), the reader gone. Their receipts say refused, so a
    later visit does not bring them back. outbox id -> reason."""
    pairs = {(int(d["sender_id"]), int(d["user_id"])) for _, d in items}
    blocked = await _blocked_pairs(session, pairs)
    out = {
        outbox_id: "blocked"
        for outbox_id, d in items
        if (int(d["sender_id"]), int(d["user_id"])) in blocked
    }
    for outbox_id, d in items:
        if outbox_id in out:
            await _refuse(session, int(d["message_id"]), int(d["user_id"]))
    return out


async def _blocked_pairs(
    session: AsyncSession, pairs: set[tuple[int, int]]
) -> set[tuple[int, int]]:
    """Which (sender, reader) pairs have a block between them, either way: one query."""
    if not pairs:
        return set()
    ids = sorted({u for pair in pairs for u in pair})
    rows = (
        await session.execute(
            select(Block.blocker_id, Block.blocked_id).where(
                Block.blocker_id.in_(ids), Block.blocked_id.in_(ids)
            )
        )
    ).all()
    found = {(a, b) for a, b in rows} | {(b, a) for a, b in rows}
    return pairs & found


async def _refuse(session: AsyncSession, message_id: int, user_id: int) -> None:
    await session.execute(
        update(MessageReceipt)
        .where(MessageReceipt.message_id == message_id, MessageReceipt.user_id == user_id)
        .values(status="refused")
        .execution_options(synchronize_session=False)
    )


register_check(KIND, overtaken)
register_outcome(KIND, delivered, undelivered)


async def export(session: AsyncSession, user_id: int) -> list[dict[str, object]]:
    """/export: the messages of the user's conversations as they see them (what they deleted
    for themselves left out), decrypted, oldest first."""
    member = ConversationMember
    rows = await session.execute(
        select(Message, User.handle)
        .join(member, member.conversation_id == Message.conversation_id)
        .join(User, User.id == Message.sender_id)
        .where(member.user_id == user_id, _visible_to(member, user_id))  # type: ignore[arg-type]
        .order_by(Message.id)
    )
    box = cipher.current()
    return [
        {
            "conversation": m.conversation_id,
            "from": handle or f"user{m.sender_id}",
            "mine": m.sender_id == user_id,
            "at": m.created_at.isoformat(),
            "text": box.decrypt(m.body, f"message {m.id}"),
        }
        for m, handle in rows
    ]
