"""Habit names: how they are compared and found from what a user types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from core.errors import InvalidInput, NotFound

MAX_NAME = 64


class Named(Protocol):
    id: int
    name: str
    name_key: str


T = TypeVar("T", bound=Named)


class Ambiguous(InvalidInput):
    """A prefix matching several items; the caller may offer them to pick from."""

    def __init__(self, message: str, query: str, choices: list[tuple[int, str]]) -> None:
        super().__init__(message)
        self.query, self.choices = query, choices


def name_key(name: str) -> str:
    return " ".join(name.casefold().split())


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("Give the habit a name, e.g. {}.", ("habit add", "Read"))
    if len(name) > MAX_NAME:
        raise InvalidInput(f"That name is too long ({len(name)} characters; at most {MAX_NAME}).")
    if name.startswith(("#", "/")):
        raise InvalidInput("A habit name cannot start with # or /.")
    return name


def match(items: Sequence[T], query: str, what: str = "habit") -> T:
    """By '#id', exact name, or unique prefix (case-insensitive); otherwise say what exists."""
    query = query.strip()
    # ASCII digits only: "²".isdigit() is True but int("²") fails.
    if query.startswith("#") and query[1:].isascii() and query[1:].isdigit():
        wanted = int(query[1:])
        for item in items:
            if item.id == wanted:
                return item
        raise NotFound(f"That {what} no longer exists.")
    key = name_key(query)
    exact = [i for i in items if i.name_key == key]
    if exact:
        return exact[0]
    prefixed = [i for i in items if i.name_key.startswith(key)] if key else []
    if len(prefixed) == 1:
        return prefixed[0]
    shown = query[:40]
    if prefixed:
        names = ", ".join(i.name for i in prefixed[:8]) + (", …" if len(prefixed) > 8 else "")
        raise Ambiguous(
            f"{shown!r} matches several {what}s: {names}. Which one?",
            query,
            [(i.id, i.name) for i in prefixed],
        )
    if not items:
        raise NotFound(f"You have no {what}s yet. Add one, e.g. {{}}.", ("habit add", "Read"))
    names = ", ".join(i.name for i in items[:10])
    more = f", … ({len(items)} in all)" if len(items) > 10 else ""
    raise NotFound(f"No {what} named {shown!r}. Yours: {names}{more}.")
