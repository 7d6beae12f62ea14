"""A challenge's life: it starts, has a last day, and ends with a final board, rewards and
an announcement. Each step enqueues with a dedupe key, so running it twice sends once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.challenges.calendar import challenge_today
from core.challenges.leaderboard import Board, leaderboard
from core.challenges.standings import BoardDay, roll_over
from core.outbox import enqueue
from core.rewards.ledger import COINS_CHALLENGE_FINISHED, COINS_CHALLENGE_WON, pay
from core.rewards.service import award_badges
from core.social.activity import challenge_event
from core.storage.models import Challenge, ChallengeHabit, Group, Habit, Outbox, Participant
from core.users.accounts import private_addresses

FINISHER_RATE = 0.8  # completing 80% of the scheduled tasks counts as finishing


@dataclass(frozen=True)
class Final:
    board: Board  # every participant, in rank order
    winners: list[int]
    finishers: list[int]
    announced: bool  # the final board went to the group's announcement place


def board_data(challenge: Challenge, board: Board, top: int = 10) -> dict[str, Any]:
    return {
        "challenge_id": challenge.id,
        "title": challenge.title,
        "participants": board.participants,
        "collective": round(board.collective, 4),
        "top": [
            {"rank": r.rank, "name": r.name, "rate": round(r.rate, 4), "streak": r.streak}
            for r in board.rows[:top]
        ],
    }


async def _announce(
    session: AsyncSession, challenge: Challenge, kind: str, data: dict[str, Any], now: datetime
) -> bool:
    """To the group's announcement place; a personal challenge tells each participant.
    Returns whether a group was told."""
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
            return True
        return False
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
    return False


async def finalize(
    session: AsyncSession, challenge: Challenge, now: datetime, early: bool = False
) -> Final:
    """End a challenge: final ranks, coins and badges for winners and finishers, the final
    board announced, and each participant told their own result privately.

    Winners are everyone at rank 1 (ties share the win) with anything done. At its natural
    end every day counts in full; ended early, the open day counts as on any live board.
    """
    as_of = challenge.end_date if early else challenge.end_date + timedelta(days=1)
    board = await leaderboard(session, challenge, as_of, top=max(1, challenge.participant_count))
    challenge.status = "ended"
    winners = [r.user_id for r in board.rows if r.rank == 1 and r.completed > 0]
    finishers = [r.user_id for r in board.rows if r.rate >= FINISHER_RATE]
    earned: dict[int, tuple[int, list[str]]] = {}
    for users, coins, code in (
        (winners, COINS_CHALLENGE_WON, "challenge_won"),
        (finishers, COINS_CHALLENGE_FINISHED, "challenge_finished"),
    ):
        for user_id in users:
            paid = await pay(
                session, user_id, "coin", coins, code, f"{code}:{challenge.id}:{user_id}", now
            )
            new = await award_badges(session, user_id, [code], now)
            await challenge_event(
                session, user_id, code[10:], challenge.title, challenge.is_private, now
            )
            before = earned.get(user_id, (0, []))
            earned[user_id] = (before[0] + paid, before[1] + new)
    if board.rows:
        table = Participant.__table__
        await session.execute(
            update(table)
            .where(table.c.challenge_id == challenge.id, table.c.user_id == bindparam("uid"))
            .values(final_rank=bindparam("rank")),
            [{"uid": r.user_id, "rank": r.rank} for r in board.rows],
        )
    names = {r.user_id: r.name for r in board.rows}
    data = board_data(challenge, board)
    data["finishers"] = len(finishers)
    data["winners"] = [names[u] for u in winners[:10]]
    data["winner_count"] = len(winners)
    announced = await _announce(session, challenge, "challenge_final", data, now)
    await _tell_results(session, challenge, board, earned, data, now)
    await session.execute(  # habits no running challenge counts stop refreshing standings
        update(Habit)
        .where(
            Habit.user_id.in_(
                select(Participant.user_id).where(Participant.challenge_id == challenge.id)
            ),
            Habit.in_challenge.is_(True),
            ~Habit.name_key.in_(_running_keys()),
        )
        .values(in_challenge=False)
        .execution_options(synchronize_session=False)
    )
    return Final(board, winners, finishers, announced)


def _running_keys() -> Any:
    """Habit names counted by a challenge not yet ended that the habit's owner is in."""
    return (
        select(ChallengeHabit.name_key)
        .join(Challenge, Challenge.id == ChallengeHabit.challenge_id)
        .join(Participant, Participant.challenge_id == Challenge.id)
        .where(Challenge.status != "ended", Participant.user_id == Habit.user_id)
    )


async def _tell_results(
    session: AsyncSession,
    challenge: Challenge,
    board: Board,
    earned: dict[int, tuple[int, list[str]]],
    final: dict[str, Any],
    now: datetime,
) -> None:
    """Each participant hears, privately, their own rate, rank and what they earned. A
    personal challenge has no group to show the board to, so its top rides along."""
    rows = {r.user_id: r for r in board.rows}
    for user_id, account in (await private_addresses(session, rows)).items():
        if not account.private_chat:
            continue
        row = rows[user_id]
        coins, badges = earned.get(user_id, (0, []))
        data: dict[str, Any] = {
            "challenge_id": challenge.id,
            "title": challenge.title,
            "rank": row.rank,
            "participants": board.participants,
            "completed": row.completed,
            "scheduled": row.scheduled,
            "rate": round(row.rate, 4),
            "coins": coins,
            "badges": badges,
            "winners": final["winners"],
            "winner_count": final["winner_count"],
        }
        if challenge.group_id is None:
            data["board"] = final
        await enqueue(
            session,
            platform=account.platform,
            chat=account.private_chat,
            kind="challenge_result",
            data=data,
            dedupe_key=f"challenge_result:{challenge.id}:{user_id}",
            now=now,
        )


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
    # A new challenge day: the boards' place keys move on (else the first board of the day
    # would pay for it).
    new_day = await session.scalars(
        select(Challenge)
        .where(
            Challenge.status == "active",
            Challenge.next_board_at.is_(None) | (Challenge.next_board_at <= now),
        )
        .limit(batch)
    )
    for challenge in new_day:
        habits = await session.scalar(
            select(func.count()).where(ChallengeHabit.challenge_id == challenge.id)
        )
        board = BoardDay.of(challenge, challenge_today(challenge, now), habits or 0)
        await roll_over(session, challenge, board)
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
