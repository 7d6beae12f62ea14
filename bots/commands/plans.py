"""/plan: a goal in your own words -> a few questions -> a plan of three tasks a day, saved as
a habit. Also /plan show|done|drop|restart, and /cancel to leave the conversation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bots.commands.context import Ctx, Deps, Invocation
from bots.commands.executor import PLAIN_HINT
from bots.commands.format import badge_notice, streak_text
from bots.commands.registry import REGISTRY, Arg, command
from bots.commands.usage import cmd, usage
from bots.reply import Action, Button, Reply, Span, bold, italic
from core.errors import DomainError
from core.habits.names import MAX_NAME
from core.habits.service import find_habit
from core.planning.planner import BUILTIN, PlanOutcome, make_intake, make_plan
from core.planning.schema import MAX_DAYS, MIN_DAYS, TASKS_PER_DAY, Intake
from core.planning.service import (
    COINS_PER_TASK,
    MAX_ANSWER,
    MAX_GOAL,
    TodayTask,
    accept,
    add_answer,
    cancel_conversation,
    clean_goal,
    default_days,
    do_task,
    draft_of,
    drop_plan,
    open_conversation,
    plan_summaries,
    plan_view,
    propose,
    restart_plan,
    start_conversation,
    tasks_today,
)
from core.storage.db import Database
from core.storage.models import PlanConversation
from core.users.lookup import account_user_id

PREVIEW_DAYS = 7  # the proposal shows the first week and the last day; /plan show shows all
HABIT = Arg("habit", "the planned habit", "text", required=True, complete="habit",
            max_length=MAX_NAME)

ACCEPT = Button("✅ Accept", Action("plan accept"))
AGAIN = Button("🔄 Another version", Action("plan again"))
CANCEL = Button("✖️ Cancel", Action("cancel"))
# Discord shows it as a form (chat platforms leave it out: there the answer is typed).
ANSWER = Button("✍️ Answer", Action("plan answer"), ask="Your answer")


def kind_text(kind: str) -> str:
    return "a habit to quit" if kind == "quit" else "a habit to build"


# ------------------------------------------------------------------ prepare (no transaction)
async def _conversation_of(db: Database, inv: Invocation) -> PlanConversation | None:
    async with db.session() as session:
        user_id = await account_user_id(session, inv.platform, inv.user_id)
        return await open_conversation(session, user_id) if user_id is not None else None


@dataclass(frozen=True)
class Prepared:
    """A plan worked out from these answers and this version, before the unit of work."""

    answers: tuple[str, ...]
    version: int
    outcome: PlanOutcome


async def _prepare_intake(deps: Deps, inv: Invocation, raw: dict[str, str]) -> Intake | None:
    try:
        goal = clean_goal(raw.get("goal", ""))
    except DomainError:
        return None  # the handler says what is wrong with it
    return await make_intake(deps.planner, goal)


async def _plan(
    deps: Deps, conv: PlanConversation, answers: list[str], version: int
) -> PlanOutcome:
    return await make_plan(
        deps.planner, conv.goal, conv.questions, answers, conv.days, version, conv.language
    )


async def _prepare_answer(deps: Deps, inv: Invocation, raw: dict[str, str]) -> Prepared | None:
    conv = await _conversation_of(deps.db, inv)
    text = " ".join(raw.get("text", "").split())
    if conv is None or conv.draft is not None or not text or len(text) > MAX_ANSWER:
        return None
    answers = [*conv.answers, text]
    if len(answers) < len(conv.questions):
        return None  # another question comes: nothing to plan yet
    return Prepared(tuple(answers), conv.version, await _plan(deps, conv, answers, conv.version))


async def _prepare_again(deps: Deps, inv: Invocation, raw: dict[str, str]) -> Prepared | None:
    conv = await _conversation_of(deps.db, inv)
    if conv is None or conv.draft is None:
        return None
    version = conv.version + 1
    outcome = await _plan(deps, conv, conv.answers, version)
    return Prepared(tuple(conv.answers), version, outcome)


async def _outcome(ctx: Ctx, conv: PlanConversation, version: int) -> PlanOutcome:
    """The prepared plan if it was made from what the conversation holds now; else (another
    message changed it meanwhile) plan again here."""
    ready = ctx.prepared
    if (
        isinstance(ready, Prepared)
        and ready.answers == tuple(conv.answers)
        and ready.version == version
    ):
        return ready.outcome
    return await _plan(ctx.deps, conv, conv.answers, version)


# ------------------------------------------------------------------ replies
def question_reply(conv: PlanConversation, index: int) -> Reply:
    reply = Reply.text(
        f"❓ {index + 1}/{len(conv.questions)}: ", bold(conv.questions[index])
    )
    reply.add("✍️ Answer: ", usage("plan answer"))
    reply.lines.append((Span("(or just type it)", chat_only=True),))
    return reply.button_row(ANSWER, CANCEL)


def made_by_text(made_by: str | None, note: str | None) -> str:
    if made_by == BUILTIN or not made_by:
        return f"Made by {BUILTIN}" + (f": {note}." if note else ".")
    return f"Made by {made_by}" + (f" ({note})." if note else ".")


def day_line(number: int, tasks: list[str], done: list[bool] | None = None) -> tuple[Any, ...]:
    marks = done or [False] * len(tasks)
    body = " · ".join(("✅ " if d else "") + t for t, d in zip(tasks, marks, strict=False))
    return (bold(f"Day {number}: "), body)


def proposal_reply(conv: PlanConversation) -> Reply:
    draft = draft_of(conv)
    assert draft is not None
    days = len(draft.days)
    reply = Reply.text(
        "📋 ", bold(f"Your {days}-day plan: {draft.habit}"), f" ({kind_text(draft.kind)})"
    )
    reply.add(italic(made_by_text(conv.made_by, conv.note)))
    for number, tasks in enumerate(draft.days[:PREVIEW_DAYS], 1):
        reply.add(*day_line(number, tasks))
    if days > PREVIEW_DAYS + 1:
        reply.add(f"… {days - PREVIEW_DAYS - 1} more days …")
    if days > PREVIEW_DAYS:
        reply.add(*day_line(days, draft.days[-1]))
    reply.add("Accept to start today.")
    return reply.button_row(ACCEPT, AGAIN, CANCEL)


def task_button(task: TodayTask) -> Button:
    return Button(f"☑️ {task.position}. {task.text}"[:40], Action("plan done", _task_args(task)))


def _task_args(task: TodayTask) -> str:
    return f"#{task.habit_id} {task.position}"


def today_tasks_reply(tasks: list[TodayTask]) -> Reply:
    """Today's plan tasks, a button each for those still open (for /today and after Accept)."""
    reply = Reply()
    habit_id = None
    for task in tasks:
        if task.habit_id != habit_id:
            habit_id = task.habit_id
            reply.add("📋 ", bold(task.habit), f" — plan day {task.day}/{task.days}")
        reply.add("   ✅ " if task.done else "   ⬜ ", f"{task.position}. {task.text}")
        if not task.done:
            reply.button_row(task_button(task))
    return reply


async def add_today_tasks(ctx: Ctx, reply: Reply) -> Reply:
    """/today's plan section (empty when no plan has tasks today)."""
    tasks = await tasks_today(ctx.session, ctx.user.id, ctx.today)
    return reply.extend(today_tasks_reply(tasks)) if tasks else reply


# ------------------------------------------------------------------ commands
@command(
    "plan new",
    "Plan a habit with AI: a goal in your words, a few questions, 3 tasks a day",
    Arg("goal", "what you want to change, in your own words", "text", required=True,
        max_length=MAX_GOAL),
    Arg("days", f"how many days ({MIN_DAYS}-{MAX_DAYS}, default 21)", "int", keyword=True,
        min=MIN_DAYS, max=MAX_DAYS),
    default=True,
    private=True,
    prepare=_prepare_intake,
    examples=("/plan read more", "/plan stop doom-scrolling days=14"),
)
async def plan_new(ctx: Ctx, args: dict[str, Any]) -> Reply:
    goal = clean_goal(args["goal"])
    intake = ctx.prepared if isinstance(ctx.prepared, Intake) else None
    intake = intake or await make_intake(ctx.deps.planner, goal)
    conv, replaced = await start_conversation(
        ctx.session, ctx.user.id, goal, default_days(args.get("days")), intake, ctx.now
    )
    reply = Reply()
    if replaced:
        reply.add("(The plan you were working on before is dropped.)")
    reply.add("🧭 Planning ", bold(conv.habit), f": {kind_text(conv.kind)}, {conv.days} days.")
    reply.add(f"{len(conv.questions)} quick questions first.")
    return reply.extend(question_reply(conv, 0))


@command(
    "plan answer",
    "Answer the planner's question",
    Arg("text", "your answer", "text", required=True, max_length=MAX_ANSWER),
    private=True,
    prepare=_prepare_answer,
    examples=("/plan answer I want to sleep better",),
)
async def plan_answer(ctx: Ctx, args: dict[str, Any]) -> Reply:
    conv = await open_conversation(ctx.session, ctx.user.id)
    if conv is None:
        if ctx.inv.plain:  # ordinary chat text with no question asked: explain commands
            return Reply.text(PLAIN_HINT[0], cmd("help"), PLAIN_HINT[1])
        return Reply.text("No plan under way. Start one: ", cmd("plan new", "read more"))
    if conv.draft is not None:
        return Reply.text("Your plan is ready:").extend(proposal_reply(conv))
    following = add_answer(conv, args["text"], ctx.now)
    if following is not None:
        return question_reply(conv, following)
    propose(conv, await _outcome(ctx, conv, conv.version), ctx.now)
    return proposal_reply(conv)


@command(
    "plan again",
    "Another version of the proposed plan",
    private=True,
    prepare=_prepare_again,
)
async def plan_again(ctx: Ctx, args: dict[str, Any]) -> Reply:
    conv = await open_conversation(ctx.session, ctx.user.id)
    if conv is None or conv.draft is None:
        return _nothing_proposed(conv)
    conv.version += 1
    propose(conv, await _outcome(ctx, conv, conv.version), ctx.now)
    return proposal_reply(conv)


@command("plan accept", "Accept the proposed plan and start it today", private=True)
async def plan_accept(ctx: Ctx, args: dict[str, Any]) -> Reply:
    conv = await open_conversation(ctx.session, ctx.user.id)
    if conv is None or conv.draft is None:
        return _nothing_proposed(conv)
    habit, plan, existed = await accept(ctx.session, ctx.user, conv, ctx.today, ctx.now)
    if existed:
        reply = Reply.text(
            f"🎯 Added a {plan.days}-day plan to your habit ", bold(habit.name), "."
        )
    else:
        reply = Reply.text(
            "🎯 Saved ", bold(habit.name), f" ({kind_text(habit.kind)}) with its "
            f"{plan.days}-day plan."
        )
    reply.add(
        f"Each task done: +{COINS_PER_TASK} coins; all {TASKS_PER_DAY} check in ",
        bold(habit.name), " for the day.",
    )
    tasks = [t for t in await tasks_today(ctx.session, ctx.user.id, ctx.today)
             if t.habit_id == habit.id]
    return reply.extend(today_tasks_reply(tasks))


def _nothing_proposed(conv: PlanConversation | None) -> Reply:
    if conv is not None:
        return Reply.text("Answer the questions first: ").extend(
            question_reply(conv, len(conv.answers))
        )
    return Reply.text("No plan is waiting. Start one: ", cmd("plan new", "read more"))


@command("cancel", "Leave the plan conversation under way", private=True)
async def cancel(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if await cancel_conversation(ctx.session, ctx.user.id):
        return Reply.text("✖️ Plan cancelled; nothing was saved.")
    return Reply.text("Nothing to cancel.")


@command(
    "plan show",
    "Show a plan with what is done (or the plan conversation under way)",
    Arg("habit", "the planned habit (leave out for all)", "text", complete="habit",
        max_length=MAX_NAME),
    private=True,
    examples=("/plan show", "/plan show Read"),
)
async def plan_show(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if "habit" in args:
        return await _show(ctx, args["habit"])
    summaries = await plan_summaries(ctx.session, ctx.user.id)
    conv = await open_conversation(ctx.session, ctx.user.id)
    reply = Reply()
    if conv is not None:
        if conv.draft is not None:
            reply.extend(proposal_reply(conv))
        else:
            reply.add("🧭 Planning ", bold(conv.habit), f" ({kind_text(conv.kind)}).")
            reply.extend(question_reply(conv, len(conv.answers)))
    if len(summaries) == 1 and conv is None:
        return await _show(ctx, f"#{summaries[0].habit.id}")
    if summaries:
        reply.add(bold("Your plans"))
        for s in summaries:
            day = (ctx.today - s.plan.start_date).days + 1
            when = "finished" if day > s.plan.days else f"day {max(day, 1)}/{s.plan.days}"
            reply.bullet(bold(s.habit.name), f": {when}, {s.done}/{s.total} tasks done")
        reply.add("One in full: ", cmd("plan show", summaries[0].habit.name))
    if not reply.lines:
        return Reply.text("No plans yet. Start one: ", cmd("plan new", "read more"))
    return reply


async def _show(ctx: Ctx, name: str) -> Reply:
    habit = await find_habit(ctx.session, ctx.user.id, name)
    view = await plan_view(ctx.session, habit)
    today = (ctx.today - view.plan.start_date).days + 1
    done = sum(t.done_on is not None for t in view.tasks)
    reply = Reply.text(
        "📋 ", bold(f"{habit.name}: {view.plan.days}-day plan"), f" ({kind_text(habit.kind)})"
    )
    reply.add(italic(f"Goal: {view.plan.goal}. " + made_by_text(view.plan.made_by, None)))
    status = "finished" if today > view.plan.days else f"today is day {today}"
    reply.add(f"Started {view.plan.start_date:%a %d %b}, {status}; {done}/{len(view.tasks)} done.")
    by_day: dict[int, list[Any]] = {}
    for task in view.tasks:
        by_day.setdefault(task.day, []).append(task)
    for number, tasks in by_day.items():
        line = day_line(number, [t.text for t in tasks], [t.done_on is not None for t in tasks])
        reply.add("👉 " if number == today else "", *line)
    reply.add("Drop it: ", cmd("plan drop", habit.name), " · start over: ",
              cmd("plan restart", habit.name))
    return reply


@command(
    "plan done",
    "Tick one of today's plan tasks",
    HABIT,
    Arg("task", f"which of today's tasks (1-{TASKS_PER_DAY})", "int", required=True,
        min=1, max=TASKS_PER_DAY),
    group=True,
    private=True,
    examples=("/plan done Read 1",),
)
async def plan_done(ctx: Ctx, args: dict[str, Any]) -> Reply:
    habit = await find_habit(ctx.session, ctx.user.id, args["habit"])
    result = await do_task(ctx.session, ctx.user, habit, args["task"], ctx.today, ctx.now)
    if not result.recorded:
        reply = Reply.text(f"Task {result.position} ({result.task}) is already done today.")
    else:
        reply = Reply.text("✅ ", bold(habit.name), f", day {result.day}: {result.task}")
        if result.coins:
            reply.add(f"🪙 +{result.coins} coins")
    reply.add(f"{result.done_today}/{TASKS_PER_DAY} of today's tasks done.")
    checked = result.check_in
    if checked is not None and checked.recorded:
        done_text = " clean today." if habit.kind == "quit" else " done for today."
        reply.add("🎉 All done: ", bold(habit.name), done_text)
        reply.add(f"🔥 Streak: {streak_text(checked.streak, habit.kind)}")
        if checked.coins:
            reply.add(f"🪙 +{checked.coins} coins")
        reply.extend(badge_notice(checked.badges))
    elif result.done_today < TASKS_PER_DAY:
        tasks = [t for t in await tasks_today(ctx.session, ctx.user.id, ctx.today)
                 if t.habit_id == habit.id and not t.done]
        for task in tasks:
            reply.button_row(task_button(task))
    return reply


@command(
    "plan drop",
    "Drop a habit's plan (the habit and its check-ins stay)",
    HABIT,
    private=True,
    examples=("/plan drop Read",),
)
async def plan_drop(ctx: Ctx, args: dict[str, Any]) -> Reply:
    habit = await find_habit(ctx.session, ctx.user.id, args["habit"])
    await drop_plan(ctx.session, habit)
    return Reply.text("Dropped the plan of ", bold(habit.name), "; the habit stays.")


@command(
    "plan restart",
    "Start a habit's plan over from day 1 today",
    HABIT,
    private=True,
    examples=("/plan restart Read",),
)
async def plan_restart(ctx: Ctx, args: dict[str, Any]) -> Reply:
    habit = await find_habit(ctx.session, ctx.user.id, args["habit"])
    plan = await restart_plan(ctx.session, habit, ctx.today)
    reply = Reply.text("🔁 ", bold(habit.name), f": day 1 of {plan.days} is today.")
    tasks = [t for t in await tasks_today(ctx.session, ctx.user.id, ctx.today)
             if t.habit_id == habit.id]
    return reply.extend(today_tasks_reply(tasks))


REGISTRY.plain_text = "plan answer"
