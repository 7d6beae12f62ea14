"""Small shared wording for replies."""

from __future__ import annotations

from bots.reply import Reply, bold
from core.habits.service import schedule_of
from core.habits.streaks import Streak
from core.rewards.badges import badge_title
from core.storage.models import Habit


def pct(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def streak_text(s: Streak, kind: str = "build") -> str:
    unit = s.unit if s.current == 1 else f"{s.unit}s"
    label = "clean " if kind == "quit" and s.unit == "day" else ""
    week = f" ({s.this_week}/{s.times} this week)" if s.unit == "week" and s.times else ""
    return f"{s.current} {label}{unit}{week}"


def amount_text(value: float) -> str:
    return f"{value:g}"


def habit_line(habit: Habit) -> str:
    parts = [schedule_of(habit).describe()]
    if habit.target is not None:
        parts.append(f"target {amount_text(habit.target)} {habit.unit or ''}".strip())
    if habit.remind_at:
        parts.append(f"reminder {habit.remind_at.replace(',', ', ')}")
    if habit.kind == "quit":
        parts.append("quit")
    return " · ".join(parts)


def badge_notice(codes: list[str]) -> Reply:
    reply = Reply()
    for code in codes:
        reply.add("🏅 New badge: ", bold(badge_title(code)), "!")
    return reply
