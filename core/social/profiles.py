"""What a profile shows, and to whom. A private profile shows non-followers its handle and
mark only; blocked people never reach it (the lookup hides the blocker from them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import local_date
from core.errors import InvalidInput
from core.habits.service import HabitStats, habit_stats
from core.habits.streaks import Streak
from core.social.lookup import Person
from core.storage.models import Badge, Challenge, Participant, User
from core.text import storable

MAX_BIO = 160


@dataclass(frozen=True)
class Profile:
    person: Person
    full: bool  # everything below is filled only when the viewer may see it
    best_streak: int = 0
    streak_unit: str = "day"
    badges: list[str] = field(default_factory=list)
    habits: list[tuple[str, Streak, str]] = field(default_factory=list)  # name, streak, kind
    challenges: list[str] = field(default_factory=list)
    # The stats behind `habits`, with their day values (the web's year matrices): the owner
    # sees every habit, anyone else the public ones only.
    shown: list[HabitStats] = field(default_factory=list)


async def load_profile(session: AsyncSession, person: Person, now: datetime) -> Profile:
    if not person.sees_all:
        return Profile(person, full=False)
    user = person.user
    stats = await habit_stats(session, user.id, local_date(now, user.timezone))
    best = max(stats, key=lambda s: s.streak.current, default=None)
    badges = list(
        await session.scalars(
            select(Badge.code).where(Badge.user_id == user.id).order_by(Badge.awarded_at)
        )
    )
    challenges = list(
        await session.scalars(
            select(Challenge.title)
            .join(Participant, Participant.challenge_id == Challenge.id)
            .where(
                Participant.user_id == user.id,
                Challenge.status == "active",
                Challenge.is_private.is_(False),  # an invite-only challenge is nobody's business
            )
            .order_by(Challenge.end_date, Challenge.id)
        )
    )
    return Profile(
        person,
        full=True,
        best_streak=best.streak.current if best else 0,
        streak_unit=best.streak.unit if best else "day",
        badges=badges,
        habits=[(s.habit.name, s.streak, s.habit.kind) for s in stats if s.habit.public],
        challenges=challenges,
        shown=[s for s in stats if s.habit.public or person.is_self],
    )


def set_bio(user: User, text: str) -> str | None:
    """Store a bio (control characters dropped, whitespace collapsed); "-" or "off" clears it."""
    if len(text) > MAX_BIO * 4:  # not worth cleaning: refused with the limit as it is
        raise InvalidInput(f"A bio takes at most {MAX_BIO} characters ({len(text)} given).")
    clean = storable(text)
    if clean.lower() in {"-", "off", "none", "clear"}:
        user.bio = None
        return None
    if not clean:
        raise InvalidInput("Your bio is empty.")
    if len(clean) > MAX_BIO:
        raise InvalidInput(f"A bio takes at most {MAX_BIO} characters ({len(clean)} given).")
    user.bio = clean
    return clean
