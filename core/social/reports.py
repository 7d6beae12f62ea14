"""Reports to the operators. Each keeps a snapshot of what the reporter could see of the
person then, so a later edit cannot hide it. One open report per reporter and target: a
second one counts once (the unique index says so, races included)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.errors import Conflict, InvalidInput, NotFound
from core.social.lookup import Person
from core.storage.db import insert_ignore
from core.storage.models import Habit, Report, User

PAGE = 10
MAX_REASON = 300


async def snapshot(session: AsyncSession, person: Person, now: datetime) -> dict[str, Any]:
    """What the reporter could see of `person` (a private profile shows only its handle)."""
    user = person.user
    shot: dict[str, Any] = {
        "user_id": user.id,
        "handle": user.handle,
        "verified": user.verified,
        "profile_public": user.profile_public,
        "taken_at": now.isoformat(),
    }
    if person.sees_all:
        habits = await session.scalars(
            select(Habit.name).where(Habit.user_id == user.id, Habit.public.is_(True))
        )
        shot |= {"name": user.name, "bio": user.bio, "public_habits": list(habits)}
    return shot


async def _conversation(session: AsyncSession, reporter_id: int, target_id: int) -> dict[str, Any]:
    """Their last 20 direct messages, as stored (encrypted: no table holds a message's text)."""
    from core.messaging.service import snapshot as messages  # messaging builds on social

    found = await messages(session, reporter_id, target_id)
    return {"messages": found} if found else {}


async def report(
    session: AsyncSession, reporter: User, person: Person, reason: str, now: datetime
) -> bool:
    """Store a report; False when this reporter's earlier report of them is still open."""
    if person.is_self:
        raise InvalidInput("You can't report yourself.")
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Say what is wrong, e.g. spam.")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"A reason takes at most {MAX_REASON} characters ({len(reason)} given).")
    inserted = await session.scalar(
        insert_ignore(
            session,
            Report,
            dict(
                reporter_id=reporter.id,
                target_user_id=person.user.id,
                reason=reason,
                snapshot=await snapshot(session, person, now)
                | await _conversation(session, reporter.id, person.user.id),
                status="open",
                created_at=now,
            ),
        ).returning(Report.id)
    )
    return inserted is not None


@dataclass(frozen=True)
class OpenReport:
    report: Report
    reporter: str
    target: str


@dataclass(frozen=True)
class ReportPage:
    items: list[OpenReport]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, (self.total + PAGE - 1) // PAGE)


async def open_reports(session: AsyncSession, page: int) -> ReportPage:
    """Open reports, oldest first (the longest waiting is answered first)."""
    reporter, target = aliased(User), aliased(User)
    rows = await session.execute(
        select(Report, reporter.handle, target.handle)
        .join(reporter, reporter.id == Report.reporter_id)
        .join(target, target.id == Report.target_user_id)
        .where(Report.status == "open")
        .order_by(Report.created_at, Report.id)
        .limit(PAGE)
        .offset((page - 1) * PAGE)
    )
    items = [OpenReport(r, a or "?", b or "?") for r, a, b in rows]
    total = await session.scalar(
        select(func.count()).select_from(Report).where(Report.status == "open")
    )
    return ReportPage(items, total or 0, page)


async def close_report(session: AsyncSession, report_id: int, now: datetime) -> Report:
    found = await session.get(Report, report_id, with_for_update=True)
    if found is None:
        raise NotFound(f"There is no report #{report_id}.")
    if found.status != "open":
        raise Conflict(f"Report #{report_id} is closed already.")
    found.status, found.closed_at = "closed", now
    return found
