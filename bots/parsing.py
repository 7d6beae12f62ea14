"""Chat text -> command arguments. Syntax only; meaning is checked by core."""

from __future__ import annotations

import difflib
import math
import re
import shlex
from datetime import date, timedelta
from typing import Any

from bots.commands.registry import Arg, Command
from core.errors import InvalidInput
from core.habits.schedule import parse_schedule
from core.text import storable
from core.users.timezones import resolve_timezone

MAX_INPUT = 2000
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]([0-5]\d)$")
_WORD = re.compile(r"[^ \t\r\n]+")  # shlex's whitespace, not str.split()'s
_NUMBER = re.compile(r"[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?")
_KEY = re.compile(r"[A-Za-z][A-Za-z_-]{0,19}")  # what reads as an option name, not a word
# Words people type for an option before they learn its name.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "freq": ("every",),
    "frequency": ("every",),
    "schedule": ("every",),
    "repeat": ("every",),
    "reminder": ("remind",),
    "reminders": ("remind",),
    "time": ("remind",),
    "goal": ("target",),
    "amount": ("target",),
    "name": ("rename",),
    "title": ("rename",),
    "type": ("kind",),
    "duration": ("days",),
    "habit": ("habits",),
    "tasks": ("habits",),
}


class UsageError(InvalidInput):
    """Arguments that do not fit a command; the reply adds the usage line."""


def split_command(text: str) -> tuple[list[str], str, str | None]:
    """'/habit@bot add Read x' -> (['habit', 'add', ...words], raw rest, addressed bot)."""
    text = text.strip()
    if text.startswith("/"):
        text = text[1:]
    head, _, rest = text.partition(" ")
    name, _, bot = head.partition("@")
    words = [name, *rest.split()] if name else rest.split()
    return words, rest, bot or None


def tokens(raw: str) -> list[str]:
    if not any(c in raw for c in "'\"\\"):  # nothing for shlex to do: split as it would
        return _WORD.findall(raw)
    try:
        return shlex.split(raw)
    except ValueError:  # an unbalanced quote: take the words as they are
        return raw.split()


def parse_text(command: Command, raw: str) -> dict[str, str]:
    if len(raw) > MAX_INPUT:
        # Tokenising is not worth it; state the limit of the field this is most likely for,
        # so a long name is told the name's limit, not a second number.
        text = next((a for a in command.args if a.kind == "text" and not a.keyword), None)
        limit = f"; {text.name} takes at most {text.max_length}" if text else ""
        raise UsageError(f"That is too long ({len(raw)} characters){limit}.")
    keywords = {a.name: a for a in command.args if a.keyword}
    flags = {a.name for a in command.args if a.kind == "flag"}
    values: dict[str, str] = {}
    positional: list[str] = []
    open_text: str | None = None  # a free-text option ("habits=Walk;Read 10 pages") runs on
    for token in _join_spaced(tokens(raw), keywords):
        key, eq, value = token.partition("=")
        if eq and key.lower() in keywords:
            if not value.strip():  # "unit=" would otherwise be silently ignored
                raise UsageError(f"{key.lower()}= needs a value.")
            values[key.lower()] = value
            open_text = key.lower() if keywords[key.lower()].kind == "text" else None
        elif token.lower() in flags:
            values[token.lower()] = "true"
            open_text = None
        elif eq and keywords and _KEY.fullmatch(key):
            raise UsageError(_unknown_key(key, keywords))
        elif open_text is not None:
            values[open_text] += " " + token
        else:
            positional.append(token)
    slots = [a for a in command.args if not a.keyword and a.kind != "flag"]
    # Free text takes the remaining words; so does a time zone ("new york" -> New_York).
    greedy = next((i for i, a in enumerate(slots) if a.kind in ("text", "timezone")), None)
    leading = slots if greedy is None else slots[:greedy]
    trailing = [] if greedy is None else slots[greedy + 1 :]
    for arg in leading:
        if positional:
            values[arg.name] = positional.pop(0)
    for arg in reversed(trailing):
        # A trailing optional (like an amount) is taken only when it reads as one.
        if len(positional) > 1 and _fits(arg, positional[-1]):
            values[arg.name] = positional.pop()
    if greedy is not None and positional:
        values[slots[greedy].name] = " ".join(positional)
    elif positional:
        raise UsageError(f"I did not understand {' '.join(positional)[:40]!r}.")
    return values


def _join_spaced(words: list[str], keywords: dict[str, Arg]) -> list[str]:
    """'every = day', 'every= day' and 'every =day' -> 'every=day', for known keys only."""
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else None
        if word.lower() in keywords and nxt is not None and nxt.startswith("="):
            if nxt == "=" and i + 2 < len(words):
                out.append(f"{word}={words[i + 2]}")
                i += 3
                continue
            if nxt != "=":
                out.append(word + nxt)
                i += 2
                continue
        if word.endswith("=") and word[:-1].lower() in keywords and nxt is not None:
            out.append(word + nxt)
            i += 2
            continue
        out.append(word)
        i += 1
    return out


def _unknown_key(key: str, keywords: dict[str, Arg]) -> str:
    known = ", ".join(f"{k}=" for k in keywords)
    close = difflib.get_close_matches(key.lower(), list(keywords), n=1, cutoff=0.5)
    if not close:  # "frequency" for "every": a few common words people try first
        close = [k for k in _SYNONYMS.get(key.lower(), ()) if k in keywords][:1]
    hint = f" Did you mean {close[0]}=?" if close else ""
    return f"There is no option {key[:20]}=.{hint} Options: {known}."


def _fits(arg: Arg, token: str) -> bool:
    if arg.kind in ("int", "number") and _NUMBER.fullmatch(token):
        return True  # out of range or not: it is the amount, and convert says what is wrong
    try:
        convert(arg, token, date(2000, 1, 1))
    except InvalidInput:
        return False
    return True


def convert_all(command: Command, raw: dict[str, str], today: date) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for arg in command.args:
        text = raw.get(arg.name)
        if text is None or (text.strip() == "" and arg.kind != "text"):
            if arg.required:
                raise UsageError(f"Missing {arg.name}.")
            continue
        values[arg.name] = convert(arg, text, today)
    return values


def convert(arg: Arg, text: str, today: date) -> Any:
    text = text.strip()
    label = arg.name
    match arg.kind:
        case "text" | "word":
            clean = storable(text)
            if not clean:
                raise UsageError(f"{label.capitalize()} is empty.")
            if len(clean) > arg.max_length:
                raise UsageError(
                    f"{label.capitalize()} is too long ({len(clean)} characters; "
                    f"at most {arg.max_length})."
                )
            return clean
        case "int" | "number":
            try:
                number = int(text) if arg.kind == "int" else float(text.replace(",", "."))
            except ValueError:
                raise UsageError(f"{label} must be a number, not {text[:20]!r}.") from None
            # Only floats can be inf/nan; isfinite() of a 400-digit int would overflow.
            if isinstance(number, float) and not math.isfinite(number):
                raise UsageError(f"{label} must be a number.")
            if arg.min is not None and number < arg.min:
                raise UsageError(f"{label} must be at least {arg.min:g}.")
            if arg.max is not None and number > arg.max:
                raise UsageError(f"{label} must be at most {arg.max:g}.")
            return number
        case "times":
            if text.lower() in {"off", "none", "no", "-"}:
                return []
            times = sorted({_time(t) for t in text.split(",") if t.strip()})
            if not times or len(times) > 6:
                raise UsageError(f"{label}: give 1 to 6 times like 07:30,21:00, or off.")
            return times
        case "schedule":
            try:
                return parse_schedule(text)
            except ValueError as error:
                raise UsageError(str(error)) from None
        case "date":
            return _date(text, today)
        case "timezone":
            return resolve_timezone(text)
        case "choice":
            lowered = text.lower()
            if lowered not in arg.choices:
                raise UsageError(f"{label} must be one of: {', '.join(arg.choices)}.")
            return lowered
        case "flag":
            return text.lower() in {"true", "yes", "1", "on", arg.name}
    raise AssertionError(arg.kind)


def _time(text: str) -> str:
    match = _TIME.match(text.strip())
    if not match:
        raise UsageError(f"{text.strip()[:12]!r} is not a time; use HH:MM, e.g. 07:30.")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def _date(text: str, today: date) -> date:
    lowered = text.lower()
    if lowered == "today":
        return today
    if lowered == "tomorrow":
        return today + timedelta(days=1)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{text[:20]!r} is not a date; use YYYY-MM-DD (a real day), today or tomorrow."
        ) from None
