"""Who plans: the configured model when there is one, the built-in planner otherwise, or to fill
in for a model that failed. Each outcome says who made it and, for the built-in one, why."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from core.planning import builtin, prompts
from core.planning.prompts import Message
from core.planning.schema import (
    Intake,
    PlanDraft,
    read_json,
    salvage_days,
    salvage_kind,
    validate_plan,
)

log = logging.getLogger("habitbot.planner")

BUILTIN = "the built-in planner"
NOT_CONFIGURED = "no AI service is configured"


class PlannerFailed(Exception):
    """The model could not be asked; the message says why, for the user."""


class ChatModel(Protocol):
    """A chat-completions model: messages in, the answer's text out (blank if none)."""

    name: str

    async def complete(self, messages: list[Message]) -> str:
        """Raises PlannerFailed when the service cannot answer."""
        ...


@dataclass(frozen=True)
class IntakeOutcome:
    intake: Intake
    language: str


@dataclass(frozen=True)
class PlanOutcome:
    draft: PlanDraft
    made_by: str  # the model's name or BUILTIN
    note: str = ""  # why the built-in planner (or part of it) was used


def _builtin_intake(goal: str) -> Intake:
    topic = builtin.classify(goal)
    lang = builtin.detect_language(goal)
    return Intake(
        kind=topic.kind,
        habit=builtin.habit_name(goal, topic, lang),
        language=lang,
        questions=builtin.questions(topic, lang),
    )


async def make_intake(model: ChatModel | None, goal: str) -> Intake:
    """Build or quit, the habit's name and the questions to ask: from the model if it answers
    well, else from the built-in planner (the plan's message says who planned)."""
    if model is not None:
        try:
            text = await model.complete(prompts.intake_messages(goal))
            return Intake.model_validate(read_json(text) or {})
        except PlannerFailed as error:
            log.info("planner intake fell back: %s", error)
        except ValueError:  # pydantic's ValidationError is a ValueError
            log.info("planner intake fell back: invalid answer")
    return _builtin_intake(goal)


async def make_plan(
    model: ChatModel | None,
    goal: str,
    questions: list[str],
    answers: list[str],
    days: int,
    variant: int = 0,
    language: str | None = None,
) -> PlanOutcome:
    lang: builtin.Lang = language if language in builtin.LANGUAGES else None  # type: ignore[assignment]
    fallback = builtin.builtin_plan(goal, answers, days, variant, lang)
    if model is None:
        return PlanOutcome(fallback, BUILTIN, NOT_CONFIGURED)
    messages = prompts.plan_messages(goal, questions, answers, days, variant)
    answers_seen: list[tuple[Any, str]] = []
    try:
        for _attempt in range(2):  # one re-ask, quoting what was wrong
            text = await model.complete(messages)
            data = read_json(text) if text.strip() else None
            answers_seen.append((data, text))
            try:
                if not text.strip():
                    raise ValueError("the answer was empty")
                if data is None:
                    raise ValueError("the answer held no JSON object")
                return PlanOutcome(validate_plan(data, days), model.name)
            except ValueError as error:
                log.info("planner answer invalid: %s", str(error)[:120])
                messages = prompts.fix_messages(messages, text, str(error))
    except PlannerFailed as error:
        if not answers_seen:
            return PlanOutcome(fallback, BUILTIN, str(error))
    return _patched(answers_seen, fallback, days, model.name)


def _patched(
    answers: list[tuple[Any, str]], fallback: PlanDraft, days: int, model: str
) -> PlanOutcome:
    """The valid days of the model's best answer, the rest from the built-in plan's same days
    (which differ from each other, so nothing repeats)."""
    best: list[list[str] | None] = []
    kind = None
    habit = None
    for data, text in answers:
        kept = salvage_days(data, text)[:days]
        if sum(d is not None for d in kept) > sum(d is not None for d in best):
            best = kept
            kind = salvage_kind(data, text)
            habit = data.get("habit") if isinstance(data, dict) else None
    kept_count = sum(d is not None for d in best)
    if kept_count == 0:
        return PlanOutcome(fallback, BUILTIN, "the AI service's answer was not a valid plan")
    used: set[tuple[str, ...]] = {tuple(sorted(t.casefold() for t in d)) for d in best if d}
    out: list[list[str]] = []
    for index in range(days):
        day = best[index] if index < len(best) else None
        if day is None:
            day = fallback.days[index]
            if tuple(sorted(t.casefold() for t in day)) in used:  # never a repeated day
                day = [f"{day[0]} (+)", *day[1:]]
        out.append(day)
    try:
        draft = PlanDraft(
            kind=kind or fallback.kind,  # type: ignore[arg-type]
            habit=habit if isinstance(habit, str) and habit.strip() else fallback.habit,
            days=out,
        )
    except ValueError:
        return PlanOutcome(fallback, BUILTIN, "the AI service's answer was not a valid plan")
    filled = days - kept_count
    note = f"{filled} of {days} days were filled in by {BUILTIN}" if filled else ""
    return PlanOutcome(draft, model, note)
