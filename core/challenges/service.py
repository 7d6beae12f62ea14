"""Challenge use cases: create, find, join, leave, end, list."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.challenges.calendar import MAX_DAYS, local_midnight, schedule_of
from core.challenges.standings import rebuild as rebuild_standings
from core.challenges.standings import refresh as refresh_standings
from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.habits.names import clean_name, name_key
from core.habits.schedule import DAILY, Schedule
from core.habits.service import add_habit, list_habits
from core.social.activity import challenge_event
from core.storage.db import insert_ignore
from core.storage.models import Challenge, ChallengeHabit, Group, Participant, User

MAX_HABITS = 10
MAX_TITLE = 80
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed


@dataclass(frozen=True)
class ChallengeView:
    challenge: Challenge
    habits: list[str]
    joined: bool


def _code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


async def create_challenge(
    session: AsyncSession,
    owner: User,
    group: Group | None,
    is_admin: bool,
    *,
    title: str,
    days: int,
    habits: list[str],
    start: date,
    today: date,
    now: datetime,
    schedule: Schedule = DAILY,
    private: bool = False,
) -> Challenge:
    if group is not None and not is_admin:
        raise Forbidden("Only group admins can create challenges here. Ask an admin.")
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("Give the challenge a title.")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"The title is too long ({len(title)} characters; at most {MAX_TITLE}).")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be between 1 and {MAX_DAYS}.")
    if schedule.weekly:
        raise InvalidInput("Challenges use day schedules: day, weekdays, weekends or mon,wed,fri.")
    names = _habit_names(habits)
    if start < today:
        raise InvalidInput("The start date is in the past; use today, tomorrow or a later date.")
    if start > today + timedelta(days=MAX_DAYS):
        raise InvalidInput("The start date is more than a year away.")
    key = name_key(title)
    if group is not None:
        clash = await session.scalar(
            select(Challenge.id).where(
                Challenge.group_id == group.id,
                Challenge.title_key == key,
                Challenge.status != "ended",
            )
        )
        if clash is not None:
            raise Conflict(f"This group already has a challenge called {title!r}.")
    end = start + timedelta(days=days - 1)
    tz = owner.timezone
    challenge = Challenge(
        group_id=group.id if group else None,
        owner_id=owner.id,
        title=title,
        title_key=key,
        schedule=schedule.text(),
        start_date=start,
        end_date=end,
        timezone=tz,
        starts_at=local_midnight(start, tz),
        ends_at=local_midnight(end + timedelta(days=1), tz),
        is_private=private,
        invite_code=_code() if private else None,
        status="active" if start <= today else "scheduled",
        participant_count=0,
        created_at=now,
    )
    session.add(challenge)
    await session.flush()
    session.add_all(
        ChallengeHabit(challenge_id=challenge.id, name=n, name_key=name_key(n)) for n in names
    )
    return challenge


def _habit_names(habits: list[str]) -> list[str]:
    names: dict[str, str] = {}
    for raw in habits:
        if raw.strip():
            name = clean_name(raw)
            names.setdefault(name_key(name), name)
    if not names:
        raise InvalidInput("Name at least one habit: habits=Read;Run.")
    if len(names) > MAX_HABITS:
        raise InvalidInput(f"A challenge has at most {MAX_HABITS} habits.")
    return list(names.values())


async def challenge_habits(session: AsyncSession, challenge_id: int) -> list[str]:
    return list(
        await session.scalars(
            select(ChallengeHabit.name)
            .where(ChallengeHabit.challenge_id == challenge_id)
            .order_by(ChallengeHabit.id)
        )
    )


async def is_participant(session: AsyncSession, challenge_id: int, user_id: int) -> bool:
    found = await session.scalar(
        select(Participant.id).where(
            Participant.challenge_id == challenge_id, Participant.user_id == user_id
        )
    )
    return found is not None


async def get_visible(
    session: AsyncSession, ref: str, user: User, group: Group | None, is_admin: bool
) -> Challenge:
    """A challenge by id (or invite code) as this caller may see it.

    Private challenges are invisible to non-members: the same answer as "no such challenge".
    In its own group a private challenge is listed (/group, /challenge list), so it can be
    looked at there too; joining still takes the invite code.
    """
    challenge = await _by_ref(session, ref)
    in_its_group = challenge is not None and group is not None and challenge.group_id == group.id
    if (
        challenge is not None
        and challenge.is_private
        and not in_its_group
        and not _code_matches(challenge, ref)
    ):
        if not await _can_manage(challenge, user, group, is_admin) and not await is_participant(
            session, challenge.id, user.id
        ):
            challenge = None
    if challenge is None:
        raise NotFound(f"No challenge matches {ref.strip()[:20]!r}. /challenges lists public ones.")
    return challenge


async def _by_ref(session: AsyncSession, ref: str) -> Challenge | None:
    ref = ref.strip().lstrip("#")
    if ref.isascii() and ref.isdigit() and len(ref) < 12:
        return await session.get(Challenge, int(ref))
    if 4 <= len(ref) <= 16:
        return await session.scalar(select(Challenge).where(Challenge.invite_code == ref.upper()))
    return None


def _code_matches(challenge: Challenge, ref: str) -> bool:
    return challenge.invite_code is not None and ref.strip().upper() == challenge.invite_code


async def _can_manage(
    challenge: Challenge, user: User, group: Group | None, is_admin: bool
) -> bool:
    if challenge.owner_id == user.id:
        return True
    return group is not None and is_admin and challenge.group_id == group.id


async def join_challenge(
    session: AsyncSession,
    user: User,
    ref: str,
    group: Group | None,
    is_admin: bool,
    today: date,
    now: datetime,
) -> tuple[Challenge, list[str]]:
    """Join by id (public) or invite code (private); returns the challenge and habits added."""
    challenge = await _by_ref(session, ref)
    visible = challenge is not None and (
        not challenge.is_private
        or _code_matches(challenge, ref)
        or await _can_manage(challenge, user, group, is_admin)
    )
    if challenge is None or not visible:
        # The same words whether it exists or not: a wrong code reveals nothing.
        raise NotFound("No challenge matches that id or invite code.")
    if challenge.status == "ended":
        raise InvalidInput(f"{challenge.title!r} has ended. /challenges lists open ones.")
    joined = await session.scalar(
        insert_ignore(
            session,
            Participant,
            dict(
                challenge_id=challenge.id,
                user_id=user.id,
                join_date=max(challenge.start_date, today),
                joined_at=now,
            ),
        ).returning(Participant.id)
    )
    if joined is None:
        raise Conflict(f"You are already in {challenge.title!r}.")
    await session.execute(
        update(Challenge)
        .where(Challenge.id == challenge.id)
        .values(participant_count=Challenge.participant_count + 1)
    )
    own = {h.name_key for h in await list_habits(session, user.id)}
    added = []
    schedule = schedule_of(challenge)
    for name in await challenge_habits(session, challenge.id):
        if name_key(name) not in own:
            await add_habit(
                session,
                user,
                name,
                today=today,
                now=now,
                schedule=schedule,
                challenge_linked=True,
            )
            added.append(name)
    counted = await refresh_standings(session, user.id)  # check-ins of today already count
    for habit in await list_habits(session, user.id):
        habit.in_challenge = habit.name_key in counted
    await challenge_event(session, user.id, "joined", challenge.title, challenge.is_private, now)
    return challenge, added


async def leave_challenge(session: AsyncSession, user: User, ref: str) -> Challenge:
    challenge = await _by_ref(session, ref)
    participant = None
    if challenge is not None:
        participant = await session.scalar(
            select(Participant).where(
                Participant.challenge_id == challenge.id, Participant.user_id == user.id
            )
        )
    if challenge is None or participant is None:
        raise NotFound("You are not in that challenge. /challenge list shows yours.")
    if challenge.status == "ended":
        raise InvalidInput(f"{challenge.title!r} has ended; its results stay.")
    await session.delete(participant)
    await session.execute(
        update(Challenge)
        .where(Challenge.id == challenge.id)
        .values(participant_count=Challenge.participant_count - 1)
    )
    return challenge


async def require_manager(
    session: AsyncSession, challenge: Challenge, user: User, group: Group | None, is_admin: bool
) -> None:
    if not await _can_manage(challenge, user, group, is_admin):
        raise Forbidden("Only the challenge's owner or its group's admins can do that.")


async def group_challenges(session: AsyncSession, group_id: int) -> list[Challenge]:
    return list(
        await session.scalars(
            select(Challenge)
            .where(Challenge.group_id == group_id)
            .order_by(Challenge.status == "ended", Challenge.start_date.desc(), Challenge.id.desc())
            .limit(20)
        )
    )


async def my_challenges(session: AsyncSession, user_id: int) -> list[tuple[Challenge, bool]]:
    """Challenges I joined or own; the flag says whether I joined."""
    rows = await session.execute(
        select(Challenge, Participant.id)
        .outerjoin(
            Participant,
            (Participant.challenge_id == Challenge.id) & (Participant.user_id == user_id),
        )
        .where((Participant.id.is_not(None)) | (Challenge.owner_id == user_id))
        .order_by(Challenge.status == "ended", Challenge.start_date.desc(), Challenge.id.desc())
        .limit(20)
    )
    return [(c, pid is not None) for c, pid in rows]


async def public_challenges(
    session: AsyncSession, page: int, per_page: int = 10
) -> tuple[list[Challenge], int]:
    where = (Challenge.is_private.is_(False), Challenge.status != "ended")
    total = await session.scalar(select(func.count()).select_from(Challenge).where(*where))
    items = await session.scalars(
        select(Challenge)
        .where(*where)
        .order_by(Challenge.participant_count.desc(), Challenge.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return list(items), total or 0


async def active_in_scope(
    session: AsyncSession, user_id: int, group: Group | None
) -> list[Challenge]:
    """Challenges a bare /leaderboard could mean: the group's active ones, or those I joined."""
    if group is not None:
        query = select(Challenge).where(
            Challenge.group_id == group.id, Challenge.status == "active"
        )
    else:
        query = (
            select(Challenge)
            .join(Participant, Participant.challenge_id == Challenge.id)
            .where(Participant.user_id == user_id, Challenge.status == "active")
        )
    return list(await session.scalars(query.order_by(Challenge.id)))


async def end_early(session: AsyncSession, challenge: Challenge, today: date) -> None:
    if challenge.status == "ended":
        raise InvalidInput(f"{challenge.title!r} has already ended.")
    if challenge.start_date > today:
        challenge.start_date = today  # never started: end it as a one-day challenge today
        challenge.end_date = today
        await rebuild_standings(session, challenge.id)  # today's check-ins count now
    challenge.end_date = max(challenge.start_date, min(challenge.end_date, today))


async def challenge_suggestions(
    session: AsyncSession, user_id: int | None, query: str = "", limit: int = 25
) -> list[Challenge]:
    """Challenges a user may name (autocomplete): not ended, and public or theirs (owned or
    joined); matched by id or a piece of the title. Private ones of others never show."""
    mine = select(Participant.challenge_id).where(Participant.user_id == user_id)
    visible = Challenge.is_private.is_(False)
    if user_id is not None:
        visible = visible | (Challenge.owner_id == user_id) | Challenge.id.in_(mine)
    stmt = select(Challenge).where(Challenge.status != "ended", visible)
    wanted = query.strip().lstrip("#")
    if wanted.isascii() and wanted.isdigit() and len(wanted) < 12:
        stmt = stmt.where(Challenge.id == int(wanted))
    elif wanted:
        key = name_key(wanted).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Challenge.title_key.like(f"%{key}%", escape="\\"))
    stmt = stmt.order_by(Challenge.participant_count.desc(), Challenge.id.desc()).limit(limit)
    return list(await session.scalars(stmt))
