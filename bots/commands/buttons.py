"""Buttons that run their command again: a confirm step, a pick among several matches, pages.

A button's action is the command's own text with control words after it: ``confirm=yes``,
``confirm=no``, ``buttons=2``. They are read only from a pressed (signed, user-bound) button,
never from typed text, so typing ``/habit remove Read confirm=yes`` confirms nothing.

Confirming, for any destructive command (``/deleteme`` too)::

    @command("habit remove", ..., confirm=True)
    async def habit_remove(ctx, args):
        habit = await find_habit(...)
        if not ctx.confirmed:
            return ask(ctx, "Remove ", bold(habit.name), "?", yes="🗑 Remove",
                       values={"name": f"#{habit.id}"})
        ...  # runs only from the ✅ button

The executor answers ``confirm=no`` itself ("nothing changed") without calling the handler.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bots.commands.context import Ctx
from bots.commands.registry import Command
from bots.commands.usage import chat_text
from bots.reply import Action, Button, Reply, Span

CANCEL = "✖️ Cancel"
CANCELLED = "✖️ Cancelled: nothing changed."
PAGE_SIZE = 20  # buttons a page shows, besides the page row: Discord shows 25 at most
MAX_SHOWN = 25  # up to this many, a reply keeps all its buttons on one page
_CONTROL = re.compile(r"\s+(confirm=(?:yes|no)|buttons=\d{1,4})\s*$")


@dataclass(frozen=True)
class Controls:
    confirm: str | None = None  # "yes" | "no" from a confirm button
    page: int = 1  # which page of the reply's buttons a page button asked for


def split_controls(text: str) -> tuple[str, Controls]:
    """A pressed button's text without its trailing control words, and what they said."""
    confirm, page = None, 1
    while match := _CONTROL.search(text):
        key, _, value = match.group(1).partition("=")
        if key == "confirm":
            confirm = value
        else:
            page = max(1, int(value))
        text = text[: match.start()]
    return text, Controls(confirm, page)


def again(command: Command, raw: Mapping[str, str], *controls: str) -> Action:
    """The command with these raw values (and control words), as a button's action."""
    values = tuple(
        (a.name, raw[a.name])
        for a in command.args
        if raw.get(a.name) is not None and (a.kind != "flag" or _set(a.name, raw[a.name]))
    )
    text = chat_text(command, values).removeprefix(f"/{command.name}").strip()
    return Action(command.name, " ".join(p for p in (text, *controls) if p))


def _set(name: str, value: str) -> bool:
    """A flag as typed platforms send it ("false" too) or as chat text names it."""
    return value.strip().lower() in {"true", "yes", "1", "on", name}


def ask(
    ctx: Ctx, *question: str | Span, yes: str, values: Mapping[str, str] | None = None
) -> Reply:
    """The question, with a ✅ button that runs the command again confirmed and a cancel button.
    `values` replace what was typed (e.g. the exact ``#id`` for a name given by its prefix)."""
    assert ctx.command is not None
    raw = {**ctx.raw, **(values or {})}
    reply = Reply.text(*question)
    return reply.button_row(
        Button(yes, again(ctx.command, raw, "confirm=yes")),
        Button(CANCEL, again(ctx.command, raw, "confirm=no")),
    )


def pick(
    command: Command, raw: Mapping[str, str], arg: str, choices: Iterable[tuple[int, str]]
) -> list[list[Button]]:
    """One button per choice, each running the command with `arg` set to that item's #id."""
    return [
        [Button(label[:40], again(command, {**raw, arg: f"#{item}"}))] for item, label in choices
    ]


def paginate(reply: Reply, page: int, command: Command, raw: Mapping[str, str]) -> None:
    """Keep one page of the reply's buttons (whole rows, at most PAGE_SIZE buttons) and add a
    row to turn pages; each turn runs the command again and keeps another page."""
    if sum(len(row) for row in reply.buttons) <= MAX_SHOWN:
        return  # every platform shows them all (a list paging itself: ten people, two each)
    pages: list[list[list[Button]]] = [[]]
    count = 0
    for row in (r for r in reply.buttons if r):
        if pages[-1] and count + len(row) > PAGE_SIZE:
            pages.append([])
            count = 0
        pages[-1].append(row)
        count += len(row)
    if len(pages) == 1:
        return
    page = min(page, len(pages))
    count = len(pages)

    def turn(to: int, label: str) -> Button:
        return Button(label, again(command, raw, f"buttons={to}"))

    row = [turn(page - 1, f"◀ {page - 1}/{count}")] if page > 1 else []
    row += [turn(page + 1, f"{page + 1}/{count} ▶")] if page < count else []
    reply.buttons = [*pages[page - 1], row]
