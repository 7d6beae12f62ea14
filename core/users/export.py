"""/export: everything stored about a person, as JSON, and their check-ins as CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.rewards.ledger import balances
from core.storage.models import (
    Account,
    Badge,
    Challenge,
    CheckIn,
    Comment,
    FrozenDay,
    Group,
    Habit,
    LedgerEntry,
    Membership,
    Participant,
    Post,
    Reaction,
    ReleasedHandle,
    User,
)


@dataclass(frozen=True)
class Export:
    json_bytes: bytes
    csv_bytes: bytes
    checkins: int
    habits: int


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(obj: Any, *columns: str) -> dict[str, Any]:
    return {c: _plain(getattr(obj, c)) for c in columns}


async def export_user(session: AsyncSession, user: User, now: datetime) -> Export:
    """A handful of queries, one per table (a person's data is small)."""
    uid = user.id
    accounts = await session.scalars(select(Account).where(Account.user_id == uid))
    habits = list(
        await session.scalars(select(Habit).where(Habit.user_id == uid).order_by(Habit.id))
    )
    checkins = (
        await session.execute(
            select(Habit.name, CheckIn)
            .join(Habit, Habit.id == CheckIn.habit_id)
            .where(Habit.user_id == uid)
            .order_by(CheckIn.local_date, Habit.id)
        )
    ).all()
    ledger = await session.scalars(
        select(LedgerEntry).where(LedgerEntry.user_id == uid).order_by(LedgerEntry.id)
    )
    badges = await session.scalars(select(Badge).where(Badge.user_id == uid).order_by(Badge.id))
    groups = await session.execute(
        select(Group.platform, Group.title, Membership.joined_at)
        .join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == uid)
    )
    joined = await session.execute(
        select(Challenge.title, Participant.join_date, Participant.final_rank, Challenge.status)
        .join(Participant, Participant.challenge_id == Challenge.id)
        .where(Participant.user_id == uid)
    )
    owned = await session.scalars(select(Challenge.title).where(Challenge.owner_id == uid))
    frozen = await session.scalars(select(FrozenDay.local_date).where(FrozenDay.user_id == uid))
    kept = await session.execute(
        select(ReleasedHandle.handle, ReleasedHandle.until).where(ReleasedHandle.user_id == uid)
    )
    money = await balances(session, uid)
    posts = await session.scalars(select(Post).where(Post.author_id == uid).order_by(Post.id))
    comments = await session.scalars(
        select(Comment).where(Comment.author_id == uid).order_by(Comment.id)
    )
    reactions = await session.execute(
        select(Reaction.post_id, Reaction.emoji, Reaction.created_at).where(Reaction.user_id == uid)
    )
    from core.messaging.service import export as messages  # messaging builds on users

    direct = await messages(session, uid)
    data = {
        "exported_at": now.isoformat(),
        "user": _row(
            user,
            "handle",
            "name",
            "timezone",
            "language",
            "profile_public",
            "dm_policy",
            "quiet_start",
            "quiet_end",
            "nudges",
            "last_claim_on",
            "claim_cycle_day",
            "created_at",
        ),
        "accounts": [
            _row(a, "platform", "external_id", "private_chat", "last_seen_at") for a in accounts
        ],
        "habits": [
            _row(h, "name", "kind", "schedule", "target", "unit", "remind_at", "start_date")
            for h in habits
        ],
        "checkins": [
            {"habit": name, **_row(c, "local_date", "amount", "created_at")} for name, c in checkins
        ],
        "balances": {"coins": money.coins, "gems": money.gems / 100, "freezes": money.freezes},
        "ledger": [_row(e, "currency", "amount", "reason", "ref", "created_at") for e in ledger],
        "badges": [_row(b, "code", "awarded_at") for b in badges],
        "frozen_days": [d.isoformat() for d in frozen],
        "groups": [{"platform": p, "title": t, "joined_at": _plain(j)} for p, t, j in groups],
        "challenges_joined": [
            {"title": t, "join_date": _plain(d), "final_rank": r, "status": s}
            for t, d, r, s in joined
        ],
        "challenges_created": list(owned),
        "handles_kept_for_you": [{"handle": h, "until": _plain(u)} for h, u in kept],
        "posts": [_row(p, "id", "kind", "text", "data", "created_at") for p in posts],
        "comments": [_row(c, "id", "post_id", "text", "created_at") for c in comments],
        "reactions": [
            {"post_id": p, "emoji": e, "created_at": _plain(t)} for p, e, t in reactions
        ],
        "direct_messages": direct,
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["habit", "date", "amount", "logged_at"])
    for name, c in checkins:
        amount = "" if c.amount is None else f"{c.amount:g}"
        writer.writerow(
            [_csv_safe(name), c.local_date.isoformat(), amount, c.created_at.isoformat()]
        )
    return Export(
        json.dumps(data, ensure_ascii=False, indent=2).encode(),
        out.getvalue().encode(),
        len(checkins),
        len(habits),
    )


def _csv_safe(text: str) -> str:
    """A spreadsheet runs a cell starting with = + - @ as a formula: not a habit name."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
