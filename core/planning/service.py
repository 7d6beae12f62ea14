"""Plan use cases: the conversation (goal, questions, answers, proposal) kept in the database so
it survives a restart, accepting it as a habit with dated tasks, and working through them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput, NotFound
from core.habits.names import MAX_NAME, name_key
from core.habits.service import CheckInResult, add_habit, check_in, list_habits
from core.planning.planner import PlanOutcome
from core.planning.schema import DEFAULT_DAYS, TASKS_PER_DAY, Intake, PlanDraft
from core.rewards.ledger import pay
from core.storage.models import Habit, Plan, PlanConversation, PlanTask, User

MAX_GOAL = 200
MAX_ANSWER = 300
COINS_PER_TASK = 5
LEDGER_REASON = "plan_task"


async def open_conversation(session: AsyncSession, user_id: int) -> PlanConversation | None:
    return await session.scalar(
        select(PlanConversation).where(PlanConversation.user_id == user_id)
    )


def clean_goal(goal: str) -> str:
    goal = " ".join(goal.split())
    if not goal:
        raise InvalidInput("Say what you want to change, e.g. read more or stop doom-scrolling.")
    if len(goal) > MAX_GOAL:
        raise InvalidInput(f"That goal is too long (at most {MAX_GOAL} characters).")
    return goal


async def start_conversation(
    session: AsyncSession, user_id: int, goal: str, days: int, intake: Intake, now: datetime
) -> tuple[PlanConversation, bool]:
    """A new conversation for this goal; True when it replaced one under way."""
    goal = clean_goal(goal)
    replaced = await session.execute(
        delete(PlanConversation).where(PlanConversation.user_id == user_id)
    )
    conversation = PlanConversation(
        user_id=user_id,
        goal=goal,
        language=intake.language,
        kind=intake.kind,
        habit=intake.habit[:MAX_NAME],
        days=days,
        questions=list(intake.questions),
        answers=[],
        version=0,
        created_at=now,
        updated_at=now,
    )
    session.add(conversation)
    await session.flush()
    return conversation, bool(replaced.rowcount)  # type: ignore[attr-defined]


def clean_answer(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise InvalidInput("An answer needs a few words.")
    if len(text) > MAX_ANSWER:
        raise InvalidInput(f"Please answer in at most {MAX_ANSWER} characters.")
    return text


def add_answer(conversation: PlanConversation, text: str, now: datetime) -> int | None:
    """Record the answer to the current question; the next question's index, or None when
    every question is answered (time to propose)."""
    if conversation.draft is not None:
        raise InvalidInput("Your plan is ready: accept it, ask for another version, or cancel.")
    answers = [*conversation.answers, clean_answer(text)]
    conversation.answers = answers  # a new list, so the JSON column is seen as changed
    conversation.updated_at = now
    return len(answers) if len(answers) < len(conversation.questions) else None


def propose(conversation: PlanConversation, outcome: PlanOutcome, now: datetime) -> None:
    conversation.draft = outcome.draft.model_dump()
    conversation.kind = outcome.draft.kind
    conversation.made_by = outcome.made_by[:120]
    conversation.note = outcome.note[:200] or None
    conversation.updated_at = now


def draft_of(conversation: PlanConversation) -> PlanDraft | None:
    return PlanDraft.model_validate(conversation.draft) if conversation.draft else None


async def cancel_conversation(session: AsyncSession, user_id: int) -> bool:
    result = await session.execute(
        delete(PlanConversation).where(PlanConversation.user_id == user_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _habit_for(
    session: AsyncSession, user: User, wanted: str, kind: str, today: date, now: datetime
) -> tuple[Habit, bool]:
    """The habit the plan is for: one of that name and kind that has no plan yet (a habit the
    user tracks already, or one a challenge added, so the challenge counts the plan's days),
    else a new one, under a name of its own if that name is taken. True: it existed."""
    habits = await list_habits(session, user.id)
    planned = set(await session.scalars(select(Plan.habit_id).where(Plan.user_id == user.id)))
    same = next((h for h in habits if h.name_key == name_key(wanted)), None)
    if same is not None and same.kind == kind and same.id not in planned:
        return same, True
    taken = {h.name_key for h in habits}
    name = wanted
    for number in range(2, 100):
        if name_key(name) not in taken:
            break
        name = f"{wanted[: MAX_NAME - 4]} {number}"
    return await add_habit(session, user, name, today=today, now=now, kind=kind), False


async def accept(
    session: AsyncSession, user: User, conversation: PlanConversation, today: date, now: datetime
) -> tuple[Habit, Plan, bool]:
    """Save the proposal as a habit (build or quit) with its plan starting today; True when
    the plan went to a habit the user had already."""
    draft = draft_of(conversation)
    if draft is None:
        raise InvalidInput("Answer the questions first; then the plan can be accepted.")
    habit, existed = await _habit_for(
        session, user, draft.habit or conversation.habit, draft.kind, today, now
    )
    plan = Plan(
        habit_id=habit.id,
        user_id=user.id,
        goal=conversation.goal,
        made_by=conversation.made_by or "",
        days=len(draft.days),
        start_date=today,
        round=1,
        created_at=now,
    )
    session.add(plan)
    await session.flush()
    await session.execute(
        PlanTask.__table__.insert(),
        [
            dict(
                plan_id=plan.id,
                day=day,
                position=position,
                text=text,
                on_date=today + timedelta(days=day - 1),
                done_on=None,
            )
            for day, tasks in enumerate(draft.days, 1)
            for position, text in enumerate(tasks, 1)
        ],
    )
    await session.delete(conversation)
    return habit, plan, existed


@dataclass(frozen=True)
class TodayTask:
    habit_id: int
    habit: str
    day: int
    days: int
    position: int
    text: str
    done: bool


async def tasks_today(session: AsyncSession, user_id: int, today: date) -> list[TodayTask]:
    """Every plan's tasks for today, in one query."""
    rows = await session.execute(
        select(Habit.id, Habit.name, Plan.days, PlanTask)
        .join(Plan, Plan.habit_id == Habit.id)
        .join(PlanTask, (PlanTask.plan_id == Plan.id) & (PlanTask.on_date == today))
        .where(Plan.user_id == user_id)
        .order_by(Habit.id, PlanTask.position)
    )
    return [
        TodayTask(hid, name, task.day, days, task.position, task.text, task.done_on is not None)
        for hid, name, days, task in rows
    ]


@dataclass(frozen=True)
class TaskResult:
    habit: Habit
    task: str
    day: int
    position: int
    coins: int
    done_today: int  # of TASKS_PER_DAY
    recorded: bool  # False: it was done already
    check_in: CheckInResult | None  # the habit's check-in, when this completed the day


async def plan_for(session: AsyncSession, habit: Habit) -> Plan:
    plan = await session.scalar(select(Plan).where(Plan.habit_id == habit.id))
    if plan is None:
        raise NotFound(f"{habit.name} has no plan.")
    return plan


async def do_task(
    session: AsyncSession,
    user: User,
    habit: Habit,
    position: int,
    today: date,
    now: datetime,
) -> TaskResult:
    """Tick one of today's tasks; it pays coins, and the last of the three checks the habit
    in for today through the same use case as /done (streaks, badges, challenges)."""
    plan = await plan_for(session, habit)
    if not 1 <= position <= TASKS_PER_DAY:
        raise InvalidInput(f"Pick a task from 1 to {TASKS_PER_DAY}.")
    tasks = list(
        await session.scalars(
            select(PlanTask)
            .where(PlanTask.plan_id == plan.id, PlanTask.on_date == today)
            .order_by(PlanTask.position)
        )
    )
    if not tasks:
        day = (today - plan.start_date).days + 1
        when = "is over" if day > plan.days else "has not started yet"
        raise NotFound(f"The plan for {habit.name} {when}; no tasks today.")
    task = next((t for t in tasks if t.position == position), None)
    if task is None:
        raise NotFound(f"Today's plan for {habit.name} has no task {position}.")
    ticked = await session.scalar(
        update(PlanTask)
        .where(PlanTask.id == task.id, PlanTask.done_on.is_(None))
        .values(done_on=today)
        .returning(PlanTask.id)
    )
    done = sum(t.done_on is not None for t in tasks if t.id != task.id) + 1
    if ticked is None:
        return TaskResult(habit, task.text, task.day, position, 0, done, False, None)
    coins = await pay(
        session,
        user.id,
        "coin",
        COINS_PER_TASK,
        LEDGER_REASON,
        f"plantask:{task.id}:{plan.round}",
        now,
    )
    result = None
    if done >= len(tasks):
        result = await check_in(session, user, habit, today, now)
    return TaskResult(habit, task.text, task.day, position, coins, done, True, result)


@dataclass(frozen=True)
class PlanView:
    habit: Habit
    plan: Plan
    tasks: list[PlanTask]  # by day and position


async def plan_view(session: AsyncSession, habit: Habit) -> PlanView:
    rows = (
        await session.execute(
            select(Plan, PlanTask)
            .join(PlanTask, PlanTask.plan_id == Plan.id)
            .where(Plan.habit_id == habit.id)
            .order_by(PlanTask.day, PlanTask.position)
        )
    ).all()
    if not rows:
        raise NotFound(f"{habit.name} has no plan.")
    return PlanView(habit, rows[0][0], [task for _, task in rows])


@dataclass(frozen=True)
class PlanSummary:
    habit: Habit
    plan: Plan
    done: int
    total: int


async def plan_summaries(session: AsyncSession, user_id: int) -> list[PlanSummary]:
    rows = await session.execute(
        select(Habit, Plan, func.count(PlanTask.done_on), func.count(PlanTask.id))
        .join(Plan, Plan.habit_id == Habit.id)
        .join(PlanTask, PlanTask.plan_id == Plan.id)
        .where(Plan.user_id == user_id)
        .group_by(Habit.id, Plan.id)
        .order_by(Habit.id)
    )
    return [PlanSummary(habit, plan, done, total) for habit, plan, done, total in rows]


async def drop_plan(session: AsyncSession, habit: Habit) -> None:
    """The habit stays, with its check-ins; its plan and tasks go."""
    plan = await plan_for(session, habit)
    await session.delete(plan)


async def restart_plan(session: AsyncSession, habit: Habit, today: date) -> Plan:
    """Day 1 is today again and every task is open again; the new round's tasks pay again."""
    plan = await plan_for(session, habit)
    plan.start_date = today
    plan.round += 1
    tasks = await session.execute(
        select(PlanTask.id, PlanTask.day).where(PlanTask.plan_id == plan.id)
    )
    await session.execute(
        update(PlanTask),
        [
            {"id": task_id, "on_date": today + timedelta(days=day - 1), "done_on": None}
            for task_id, day in tasks
        ],
    )
    return plan


def default_days(days: int | None) -> int:
    return DEFAULT_DAYS if days is None else days
