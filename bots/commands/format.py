"""Small shared wording for replies."""

from __future__ import annotations

from bots.commands.context import Ctx
from bots.commands.usage import usage
from bots.reply import Reply, bold
from core.habits.service import schedule_of
from core.habits.streaks import Streak
from core.reminders import quiet_clashes
from core.rewards.badges import badge_title
from core.storage.models import Habit, User


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
    if habit.public:
        parts.append("public")
    return " · ".join(parts)


def badge_notice(codes: list[str]) -> Reply:
    reply = Reply()
    for badge in codes:
        reply.add("🏅 New badge: ", bold(badge_title(badge)), "!")
    return reply


def quiet_notice(user: User, habit: Habit) -> Reply:
    """Warn about reminder times the quiet hours hold or swallow (empty when none)."""
    reply = Reply()
    for clash in quiet_clashes(user, habit.remind_at):
        if clash.skipped:
            reply.add(
                f"🌙 {habit.name} at {clash.time} is in your quiet hours: it would wait until "
                f"{clash.held_until}, over an hour late, so it is not sent. ",
                "Change them with ",
                usage("settings"),
                ".",
            )
        else:
            reply.add(
                f"🌙 {habit.name} at {clash.time} is in your quiet hours: "
                f"it arrives at {clash.held_until}."
            )
    return reply


def reach_check(ctx: Ctx, reply: Reply, habit: Habit) -> Reply:
    """Flag a reply that set reminders where the bot may not reach the user privately."""
    if not habit.remind_at:
        return reply
    if ctx.account.private_chat is None or ctx.account.unreachable:
        reply.reach = "missing"
    elif ctx.group is not None:
        reply.reach = "check"
    return reply


def unreachable() -> Reply:
    """What the adapter adds when it cannot write to the user privately; it adds its fix."""
    return Reply.text("⚠️ I can't message you privately yet, so your reminders can't reach you.")
