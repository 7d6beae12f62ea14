"""What a plan must be, checked strictly (pydantic), and how a model's answer is read.

Models answer in many shapes: JSON, JSON in a code fence, JSON inside prose, JSON cut off
half-way (a token limit), or nothing but prose. `read_json` finds the object if there is one;
`salvage_days` keeps every complete day from whatever is left.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

TASKS_PER_DAY = 3
MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 7, 60, 21
MIN_TASK, MAX_TASK = 3, 120  # characters of one task
MAX_HABIT = 40  # characters of the habit's name
MAX_QUESTION = 200
MAX_ANSWER_CHARS = 200_000  # a longer answer is not read at all

Kind = Literal["build", "quit"]


def _clean(text: str) -> str:
    return " ".join(text.split())


class Task(BaseModel):
    """One task: short, concrete, a single line."""

    text: str = Field(min_length=MIN_TASK, max_length=MAX_TASK)

    @field_validator("text", mode="before")
    @classmethod
    def _squash(cls, value: Any) -> Any:
        return _clean(value) if isinstance(value, str) else value


def check_day(tasks: Any) -> list[str]:
    """Exactly three unique, non-empty tasks of sensible length; raises ValueError saying why."""
    if isinstance(tasks, dict):
        tasks = tasks.get("tasks")
    if not isinstance(tasks, list):
        raise ValueError("a day must be a list of tasks")
    if len(tasks) != TASKS_PER_DAY:
        raise ValueError(f"a day must have exactly {TASKS_PER_DAY} tasks, not {len(tasks)}")
    texts = []
    for task in tasks:
        if not isinstance(task, str):
            raise ValueError("each task must be a string")
        try:
            texts.append(Task(text=task).text)
        except ValidationError as error:
            problem = error.errors()[0]["msg"]
            raise ValueError(f"task {task[:40]!r}: {problem}") from None
    if len({t.casefold() for t in texts}) != len(texts):
        raise ValueError("the tasks of a day must all differ")
    return texts


class PlanDraft(BaseModel):
    """A whole plan, as the planners produce it and as it is stored until accepted."""

    model_config = ConfigDict(extra="ignore")

    kind: Kind
    habit: str = Field(min_length=1, max_length=MAX_HABIT)
    days: list[list[str]]

    @field_validator("habit", mode="before")
    @classmethod
    def _habit(cls, value: Any) -> Any:
        return _clean(value).lstrip("#/").strip()[:MAX_HABIT] if isinstance(value, str) else value

    @field_validator("days", mode="before")
    @classmethod
    def _days(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("days must be a list")
        days = [check_day(day) for day in value]
        seen: set[tuple[str, ...]] = set()
        for number, day in enumerate(days, 1):
            key = tuple(sorted(t.casefold() for t in day))
            if key in seen:
                raise ValueError(f"day {number} repeats the tasks of an earlier day")
            seen.add(key)
        return days


def validate_plan(data: Any, days: int) -> PlanDraft:
    """The plan in `data`, or ValueError naming the first problem (quoted back to a model)."""
    if not isinstance(data, dict):
        raise ValueError("the answer must be one JSON object")
    try:
        draft = PlanDraft.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None
    if len(draft.days) != days:
        raise ValueError(f"the plan must have exactly {days} days, not {len(draft.days)}")
    return draft


class Intake(BaseModel):
    """The first step: what kind of habit the goal is, its name, and the questions to ask."""

    model_config = ConfigDict(extra="ignore")

    kind: Kind
    habit: str = Field(min_length=1, max_length=MAX_HABIT)
    language: str = Field(default="en", max_length=8)
    questions: list[str] = Field(min_length=2, max_length=3)

    @field_validator("habit", mode="before")
    @classmethod
    def _habit(cls, value: Any) -> Any:
        return _clean(value).lstrip("#/").strip()[:MAX_HABIT] if isinstance(value, str) else value

    @field_validator("questions", mode="before")
    @classmethod
    def _questions(cls, value: Any) -> Any:
        if not isinstance(value, list):
            raise ValueError("questions must be a list")
        out = []
        for question in value:
            if not isinstance(question, str) or not 5 <= len(_clean(question)) <= MAX_QUESTION:
                raise ValueError("each question must be a sentence of at most 200 characters")
            out.append(_clean(question))
        return out


_KEYS = {"kind", "habit", "days", "questions"}  # an object of ours, not one nested in it
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def read_json(text: str) -> Any:
    """The JSON object in a model's answer: bare, fenced, or inside prose; None if none (a cut
    off answer holds only inner objects, a day's, which `salvage_days` reads)."""
    text = text.strip()
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            try:
                value, _ = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError:
                start = candidate.find("{", start + 1)
                continue
            if isinstance(value, dict) and _KEYS & value.keys():
                return value
            start = candidate.find("{", start + 1)
    return None


_TASK_LIST = re.compile(r'"tasks"\s*:\s*(\[[^\[\]]*\])', re.DOTALL)
_BARE_DAY = re.compile(r'\[\s*("(?:[^"\\]|\\.)*"\s*(?:,\s*"(?:[^"\\]|\\.)*"\s*)*)\]', re.DOTALL)
_KIND = re.compile(r'"kind"\s*:\s*"(build|quit)"')


def salvage_days(data: Any, text: str) -> list[list[str] | None]:
    """Every day of an answer that is a valid day on its own, by position (None where a day is
    missing or broken), from parsed JSON or, when that failed (truncated), from the raw text."""
    raw_days: list[Any] = []
    if isinstance(data, dict) and isinstance(data.get("days"), list):
        raw_days = data["days"]
    else:
        found = _TASK_LIST.findall(text) or _BARE_DAY.findall(text)
        for chunk in found:
            chunk = chunk if chunk.startswith("[") else f"[{chunk}]"
            try:
                raw_days.append(json.loads(chunk))
            except json.JSONDecodeError:
                raw_days.append(None)
    kept: list[list[str] | None] = []
    seen: set[tuple[str, ...]] = set()
    for day in raw_days:
        try:
            tasks = check_day(day)
        except ValueError:
            kept.append(None)
            continue
        key = tuple(sorted(t.casefold() for t in tasks))
        kept.append(None if key in seen else tasks)
        seen.add(key)
    return kept


def salvage_kind(data: Any, text: str) -> str | None:
    if isinstance(data, dict) and data.get("kind") in ("build", "quit"):
        return str(data["kind"])
    found = _KIND.search(text)
    return found.group(1) if found else None
