"""/plan end to end through the command layer (as the console sends it): the conversation, the
AI service at a local chat-completions server in every way it can go wrong, the built-in
planner, a restart mid-conversation, and working through the plan's days."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bots.commands import Chat, Deps, Invocation, execute
from bots.reply import Reply
from core.clock import FakeClock
from core.planning.ai import ChatPlanner
from core.planning.schema import validate_plan
from core.storage.db import Database
from core.storage.models import CheckIn, LedgerEntry, Plan, PlanConversation, PlanTask
from tests.conftest import Say
from tests.emulators.chat_api import MODEL, ChatApi, Turn, good_plan

KEY = "sk-test-secret-4711"
ANSWERS = ("to relax before bed", "my phone", "evenings, 20 minutes")


@pytest.fixture
async def api() -> AsyncIterator[ChatApi]:
    async with ChatApi() as server:
        yield server


@pytest.fixture
async def ai(db: Database, clock: FakeClock, api: ChatApi) -> AsyncIterator[Deps]:
    planner = ChatPlanner(api.base_url, KEY, MODEL, timeout=1.0)
    yield Deps(db, clock, planner=planner)
    await planner.close()


async def typed(deps: Deps, text: str, user: str = "ann") -> Reply:
    """Chat text that is not a command, as a private chat sends it."""
    inv = Invocation("console", user, user.capitalize(), Chat("private", user), text=text,
                     plain=True)
    return await execute(deps, inv)


async def send(deps: Deps, text: str, user: str = "ann") -> Reply:
    return await Say(deps)(text, user=user)


async def converse(
    deps: Deps, goal: str = "read more", answers: tuple[str, ...] = ANSWERS
) -> Reply:
    reply = await send(deps, f"/plan {goal}")
    assert "1/3" in reply.plain(), reply.plain()
    for answer in answers:
        reply = await typed(deps, answer)
    return reply


async def saved_plan(db: Database) -> list[list[str]]:
    async with db.session() as session:
        rows = (await session.execute(
            select(PlanTask.day, PlanTask.text).order_by(PlanTask.day, PlanTask.position)
        )).all()
    days: dict[int, list[str]] = {}
    for day, text in rows:
        days.setdefault(day, []).append(text)
    return list(days.values())


async def test_without_an_ai_service_the_builtin_planner_plans_and_says_so(
    deps: Deps, say: Say
) -> None:
    reply = await say("/plan I want to read more")
    text = reply.plain()
    assert "Planning Read: a habit to build, 21 days." in text
    assert "1/3: Why does this matter to you" in text
    assert [b.label for row in reply.buttons for b in row] == ["✍️ Answer", "✖️ Cancel"]
    assert "2/3: What usually gets in the way?" in (await typed(deps, ANSWERS[0])).plain()
    await typed(deps, ANSWERS[1])
    proposal = await typed(deps, ANSWERS[2])
    text = proposal.plain()
    assert "Your 21-day plan: Read (a habit to build)" in text
    assert "Made by the built-in planner: no AI service is configured." in text
    assert "Day 1: Read 5 pages" in text and "“to relax before bed”" in text
    assert "Day 21: Read 30 pages" in text
    assert [b.label for row in proposal.buttons for b in row] == [
        "✅ Accept", "🔄 Another version", "✖️ Cancel"]
    again = await say("/plan again")
    assert again.plain() != text and "Your 21-day plan" in again.plain()
    accepted = await say("/plan accept")
    assert "Saved Read (a habit to build) with its 21-day plan." in accepted.plain()
    assert "plan day 1/21" in accepted.plain()
    assert len(accepted.buttons) == 3  # a button per task
    plan = await saved_plan(deps.db)
    assert validate_plan({"kind": "build", "habit": "Read", "days": plan}, 21)
    async with deps.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(PlanConversation)) == 0


async def test_three_days_of_tasks_pay_coins_and_check_the_habit_in(
    deps: Deps, say: Say, clock: FakeClock
) -> None:
    await converse(deps, "stop doom-scrolling", ("sleep", "boredom", "at night"))
    await say("/plan accept")
    for day in (1, 2, 3):
        today = await say("/today")
        text = today.plain()
        assert f"Less scrolling — plan day {day}/21" in text, text
        task_buttons = [b for row in today.buttons for b in row if b.action.command == "plan done"]
        assert len(task_buttons) == 3
        for number, button in enumerate(task_buttons, 1):
            pressed = await say(f"/{button.action.command} {button.action.args}")
            assert "+5 coins" in pressed.plain()
            assert f"{number}/3 of today's tasks done." in pressed.plain()
        done = pressed.plain()
        assert "All done: Less scrolling clean today." in done
        assert f"Streak: {day} clean day" in done and "+10 coins" in done
        if day == 3:
            assert "New badge" in done
        again = await say("/plan done Less 1")
        assert "already done today" in again.plain()
        assert "✅ Less scrolling" in (await say("/today")).plain()
        clock.advance(timedelta(days=1))
    assert "coins: 75" in (await say("/wallet")).plain()  # 3 x (3 x 5 + 10)
    async with deps.db.session() as session:
        reasons = list(await session.scalars(select(LedgerEntry.reason)))
        assert reasons.count("plan_task") == 9 and reasons.count("checkin") == 3
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 3
    shown = (await say("/plan show")).plain()
    assert "today is day 4; 9/63 done." in shown and "👉 Day 4:" in shown
    assert "Day 1: ✅ Keep social apps under 60 minutes today" in shown


async def test_show_drop_restart_cancel(deps: Deps, say: Say, clock: FakeClock) -> None:
    assert "No plans yet" in (await say("/plan show")).plain()
    assert "No plan under way" in (await say("/plan answer hello")).plain()
    assert "Commands start with /" in (await typed(deps, "hello")).plain()
    assert "Nothing to cancel." in (await say("/cancel")).plain()
    await say("/plan read more")
    assert "Planning Read" in (await say("/plan show")).plain()
    assert "Answer the questions first" in (await say("/plan accept")).plain()
    assert "Plan cancelled" in (await say("/cancel")).plain()
    assert "Commands start with /" in (await typed(deps, "to relax")).plain()
    await converse(deps)
    assert "Your plan is ready" in (await typed(deps, "one more answer")).plain()
    await say("/plan accept")
    await say("/plan done Read 1")
    clock.advance(timedelta(days=2))
    restarted = (await say("/plan restart Read")).plain()
    assert "day 1 of 21 is today" in restarted and "⬜ 1. Read 5 pages" in restarted
    shown = (await say("/plan show Read")).plain()
    assert "today is day 1; 0/63 done." in shown
    assert "+5 coins" in (await say("/plan done Read 1")).plain()  # a new round pays again
    assert "Dropped the plan of Read" in (await say("/plan drop Read")).plain()
    assert "Read has no plan." in (await say("/plan show Read")).plain()
    assert "Read" in (await say("/habits")).plain()  # the habit stays
    # A habit of that name without a plan takes the plan; one with a plan leaves the name
    # to a new habit.
    await converse(deps)
    assert "Added a 21-day plan to your habit Read." in (await say("/plan accept")).plain()
    await converse(deps)
    assert "Saved Read 2" in (await say("/plan accept")).plain()
    assert "No plan under way" in (await say("/plan answer late")).plain()


async def test_a_restart_mid_conversation_resumes_it(db: Database, clock: FakeClock) -> None:
    first = Deps(db, clock)
    await send(first, "/plan Ich möchte mehr lesen days=14")
    assert "2/3" in (await typed(first, "um ruhiger zu werden")).plain()
    url = db.engine.url.render_as_string(hide_password=False)
    await db.dispose()  # the process stops ...
    again = Database(url)  # ... and a new one starts on the same database
    try:
        second = Deps(again, clock)
        shown = (await send(second, "/plan show")).plain()
        assert "2/3: Was kommt dir dabei normalerweise in die Quere?" in shown
        assert "3/3" in (await typed(second, "mein Handy")).plain()
        proposal = (await typed(second, "abends")).plain()
        assert "Your 14-day plan: Lesen" in proposal and "Lies 5 Seiten" in proposal
        assert "„um ruhiger zu werden“" in proposal
        assert "Saved Lesen" in (await send(second, "/plan accept")).plain()
    finally:
        await again.dispose()


def _json(days: int = 21, **changes: object) -> str:
    return json.dumps(good_plan(days) | changes)


def _broken_day(change: list[str]) -> str:
    plan = good_plan()
    plan["days"][4]["tasks"] = change
    return json.dumps(plan)


FILLED_ONE = f"Made by {MODEL} (1 of 21 days were filled in by the built-in planner)."
NOT_VALID = "Made by the built-in planner: the AI service's answer was not a valid plan."

CASES = {
    "good": ([], f"Made by {MODEL}."),
    "json in a code fence": ([Turn(f"Here you go:\n```json\n{_json()}\n```")], f"Made by {MODEL}."),
    "only in the reasoning field": ([Turn("", reasoning=_json())], f"Made by {MODEL}."),
    "fixed when re-asked": ([Turn(_json(20)), Turn()], f"Made by {MODEL}."),
    "20 days": ([Turn(_json(20)), Turn(_json(20))], FILLED_ONE),
    "2 tasks on a day": ([Turn(_broken_day(["Read", "Walk"]))] * 2, FILLED_ONE),
    "duplicate tasks": ([Turn(_broken_day(["Read 10 pages"] * 3))] * 2, FILLED_ONE),
    "prose": ([Turn("Try reading a little every day!"), Turn("Just read more.")], NOT_VALID),
    "blank": ([Turn(""), Turn("   ")], NOT_VALID),
    "truncated": ([Turn(_json()[:2000])] * 2, f"Made by {MODEL} ("),
    "a 500": ([Turn(status=500), Turn(status=500)],
              "Made by the built-in planner: the AI service answered with an error (500)."),
    "a timeout": ([Turn(delay=3), Turn(delay=3)],
                  "Made by the built-in planner: the AI service did not answer in time."),
    "a 1 MB answer": ([Turn("x" * 1_000_000 + _json())],
                      "Made by the built-in planner: the AI service's answer was far too long."),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_every_answer_of_the_ai_service_ends_in_a_valid_saved_plan(
    ai: Deps, api: ChatApi, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    turns, made_by = CASES[case]
    api.script = list(turns)
    reply = await send(ai, "/plan read more")
    assert "Planning Reading: a habit to build" in reply.plain()
    assert "1/3: What draws you to books?" in reply.plain()  # the model's questions
    proposal = (await converse_rest(ai)).plain()
    assert made_by in proposal, proposal
    accepted = (await send(ai, "/plan accept")).plain()
    assert "with its 21-day plan" in accepted
    plan = await saved_plan(ai.db)
    assert validate_plan({"kind": "build", "habit": "x", "days": plan}, 21)  # 3 unique a day
    from_ai = sum("AI tip" in t for day in plan for t in day)
    if made_by.startswith(f"Made by {MODEL}"):
        assert from_ai >= 10  # "AI tip" is one task a day of the model's
    else:
        assert from_ai == 0 and plan[0][0] == "Read 5 pages"
    requests = api.plan_requests()
    if case == "fixed when re-asked":
        assert len(requests) == 2
        assert "exactly 21 days, not 20" in requests[1]["messages"][-1]["content"]
    if case in ("a 500", "a timeout"):
        assert len(requests) == 2  # one retry
    first = requests[0]
    assert first["response_format"] == {"type": "json_object"} and first["model"] == MODEL
    assert "to relax before bed" in first["messages"][-1]["content"]  # in the user message
    assert all("to relax" not in m["content"] for m in first["messages"] if m["role"] == "system")
    assert api.headers[0]["Authorization"] == f"Bearer {KEY}"
    logged = caplog.text
    assert KEY not in logged and "to relax before bed" not in logged and "my phone" not in logged


async def converse_rest(deps: Deps) -> Reply:
    reply = Reply()
    for answer in ANSWERS:
        reply = await typed(deps, answer)
    return reply


async def test_another_version_asks_the_model_for_a_different_one(
    ai: Deps, api: ChatApi
) -> None:
    await converse(ai)
    again = (await send(ai, "/plan again")).plain()
    assert f"Made by {MODEL}." in again
    [_, second] = api.plan_requests()
    assert "version 2" in second["messages"][-1]["content"]


async def test_a_failed_intake_falls_back_to_the_builtin_questions(
    ai: Deps, api: ChatApi
) -> None:
    api.intake = [Turn(status=500), Turn(status=500)]
    reply = (await send(ai, "/plan stop doom-scrolling")).plain()
    assert "Planning Less scrolling: a habit to quit" in reply
    assert "Why do you want to stop" in reply


async def test_the_plan_is_stored_until_accepted(db: Database, deps: Deps) -> None:
    await converse(deps)
    async with db.session() as session:
        conv = await session.scalar(select(PlanConversation))
        assert conv is not None and conv.answers == list(ANSWERS) and conv.draft is not None
        assert await session.scalar(select(func.count()).select_from(Plan)) == 0


async def test_a_challenge_counts_the_day_a_plan_completes(deps: Deps, say: Say) -> None:
    await say("/challenge new Book Week days=7 habits=Read private")
    await say("/join 1")  # gives ann the challenge's habit Read
    await converse(deps)
    assert "Added a 21-day plan to your habit Read." in (await say("/plan accept")).plain()
    for task in (1, 2, 3):
        done = (await say(f"/plan done Read {task}")).plain()
    assert "All done: Read done for today." in done
    assert "Book Week — 1/1 done" in (await say("/progress 1")).plain()
    assert "100% (1/1)" in (await say("/leaderboard 1")).plain()
