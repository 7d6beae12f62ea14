"""A challenge's life: it starts, has a last day, and ends with a final board, rewards and
an announcement. Each step enqueues with a dedupe key, so running it twice sends once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.challenges.calendar import challenge_today
from core.challenges.leaderboard import Board, leaderboard
from core.outbox import enqueue
from core.rewards.ledger import COINS_CHALLENGE_FINISHED, COINS_CHALLENGE_WON, pay
from core.rewards.service import award_badges
from core.storage.models import Challenge, Group, Outbox, Participant
from core.users.accounts import private_addresses

FINISHER_RATE = 0.8  # completing 80% of the scheduled tasks counts as finishing


@dataclass(frozen=True)
class Final:
    board: Board
    winners: list[int]
    finishers: list[int]


def board_data(challenge: Challenge, board: Board) -> dict[str, Any]:
    return {
        "challenge_id": challenge.id,
        "title": challenge.title,
        "participants": board.participants,
        "collective": round(board.collective, 4),
        "top": [
            {"rank": r.rank, "name": r.name, "rate": round(r.rate, 4), "streak": r.streak}
            for r in board.rows
        ],
    }


async def _announce(
    session: AsyncSession, challenge: Challenge, kind: str, data: dict[str, Any], now: datetime
) -> None:
    """To the group's announcement place; a personal challenge tells each participant."""
    if challenge.group_id is not None:
        group = await session.get_one(Group, challenge.group_id)
        if group.announce_chat and not group.unreachable:
            await enqueue(
                session,
                platform=group.platform,
                chat=group.announce_chat,
                kind=kind,
                data=data,
                dedupe_key=f"{kind}:{challenge.id}",
                now=now,
            )
        return
    user_ids = await session.scalars(
        select(Participant.user_id).where(Participant.challenge_id == challenge.id)
    )
    for user_id, account in (await private_addresses(session, user_ids)).items():
        if account.private_chat:
            await enqueue(
                session,
                platform=account.platform,
                chat=account.private_chat,
                kind=kind,
                data=data,
                dedupe_key=f"{kind}:{challenge.id}:{user_id}",
                now=now,
            )


async def finalize(
    session: AsyncSession, challenge: Challenge, now: datetime, early: bool = False
) -> Final:
    """End a challenge: final ranks, coins and badges for winners and finishers, announcement.

    At its natural end every day counts in full; ended early, the open day counts only
    for what was done, as on any live board.
    """
    as_of = challenge.end_date if early else challenge.end_date + timedelta(days=1)
    board = await leaderboard(session, challenge, as_of, top=10_000)
    challenge.status = "ended"
    winners: list[int] = []
    finishers: list[int] = []
    best = board.rows[0].rate if board.rows else 0.0
    ranks = {r.user_id: r.rank for r in board.rows}
    participants = await session.scalars(
        select(Participant).where(Participant.challenge_id == challenge.id)
    )
    for participant in participants:
        participant.final_rank = ranks.get(participant.user_id)
    for row in board.rows:
        if best > 0 and row.rate == best and row.rank == 1:
            winners.append(row.user_id)
            await pay(
                session,
                row.user_id,
                "coin",
                COINS_CHALLENGE_WON,
                "challenge_won",
                f"challenge_won:{challenge.id}:{row.user_id}",
                now,
            )
            await award_badges(session, row.user_id, ["challenge_won"], now)
        if row.rate >= FINISHER_RATE:
            finishers.append(row.user_id)
            await pay(
                session,
                row.user_id,
                "coin",
                COINS_CHALLENGE_FINISHED,
                "challenge_finished",
                f"challenge_finished:{challenge.id}:{row.user_id}",
                now,
            )
            await award_badges(session, row.user_id, ["challenge_finished"], now)
    data = board_data(challenge, board)
    data["top"] = data["top"][:10]
    data["finishers"] = len(finishers)
    await _announce(session, challenge, "challenge_final", data, now)
    return Final(board, winners, finishers)


async def start(session: AsyncSession, challenge: Challenge, now: datetime) -> None:
    challenge.status = "active"
    data = {
        "challenge_id": challenge.id,
        "title": challenge.title,
        "days": (challenge.end_date - challenge.start_date).days + 1,
        "end_date": challenge.end_date.isoformat(),
    }
    await _announce(session, challenge, "challenge_start", data, now)


async def lifecycle_tick(session: AsyncSession, now: datetime, batch: int = 50) -> int:
    """Start, remind on the last day, and end whatever is due. Returns how many it touched."""
    touched = 0
    due_start = await session.scalars(
        select(Challenge)
        .where(Challenge.status == "scheduled", Challenge.starts_at <= now)
        .limit(batch)
    )
    for challenge in due_start:
        await start(session, challenge, now)
        touched += 1
    due_end = await session.scalars(
        select(Challenge).where(Challenge.status == "active", Challenge.ends_at <= now).limit(batch)
    )
    for challenge in due_end:
        await finalize(session, challenge, now)
        touched += 1
    last_day = await session.scalars(
        select(Challenge).where(
            Challenge.status == "active",
            Challenge.ends_at > now,
            Challenge.ends_at <= now + timedelta(days=1),
        )
    )
    for challenge in last_day:
        key = f"challenge_last_day:{challenge.id}"
        queued = await session.scalar(
            select(Outbox.id).where(Outbox.dedupe_key.startswith(key)).limit(1)
        )
        if queued is None and challenge_today(challenge, now) == challenge.end_date:
            board = await leaderboard(session, challenge, challenge.end_date, top=3)
            await _announce(
                session, challenge, "challenge_last_day", board_data(challenge, board), now
            )
            touched += 1
    return touched
