"""Chat text -> command arguments (bots/parsing.py): syntax only, with the registry's real
commands."""

from __future__ import annotations

import shlex
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bots.commands import REGISTRY
from bots.commands.registry import Arg
from bots.parsing import (
    MAX_INPUT,
    UsageError,
    convert,
    convert_all,
    parse_text,
    split_command,
    tokens,
)
from core.errors import InvalidInput
from core.habits.names import MAX_NAME
from core.habits.schedule import DAILY, Schedule

TODAY = date(2026, 3, 2)
ADD = REGISTRY.commands["habit add"]
DONE = REGISTRY.commands["done"]
UNDO = REGISTRY.commands["undo"]
SETTINGS = REGISTRY.commands["settings"]
TIMEZONE = REGISTRY.commands["timezone"]


@pytest.mark.parametrize(
    ("text", "words", "bot"),
    [
        ("/habit add Read", ["habit", "add", "Read"], None),
        ("/habit@habitbot add Read", ["habit", "add", "Read"], "habitbot"),
        ("  /done  ", ["done"], None),
        ("done Read", ["done", "Read"], None),
        ("/", [], None),
        ("", [], None),
    ],
)
def test_split_command(text: str, words: list[str], bot: str | None) -> None:
    found, _, addressed = split_command(text)
    assert found == words and addressed == bot


def test_keywords_and_free_text_name() -> None:
    raw = parse_text(ADD, "Read a book every=mon,wed REMIND=07:30 target=20 unit=pages")
    assert raw == {
        "name": "Read a book",
        "every": "mon,wed",
        "remind": "07:30",
        "target": "20",
        "unit": "pages",
    }


def test_quoted_names_and_unbalanced_quotes() -> None:
    assert parse_text(ADD, '"Read  books" every=day')["name"] == "Read  books"
    assert parse_text(ADD, 'Don\'t smoke kind=quit') == {"name": "Don't smoke", "kind": "quit"}


@given(st.text(alphabet=" \t\r\n\x0b\x0c\xa0ab=#é", max_size=16))
def test_words_without_quotes_split_as_shlex_splits_them(raw: str) -> None:
    # Unquoted text skips shlex (it is most of the cost of parsing /done Read); same words.
    assert tokens(raw) == shlex.split(raw)


def test_trailing_amount_is_taken_only_when_it_reads_as_one() -> None:
    assert parse_text(DONE, "Read 25") == {"habit": "Read", "amount": "25"}
    assert parse_text(DONE, "Read 2,5") == {"habit": "Read", "amount": "2,5"}
    assert parse_text(DONE, "Run 5k") == {"habit": "Run 5k"}
    # A number out of range is still the amount, so the reply can say what is wrong with it.
    assert parse_text(DONE, "Read -5") == {"habit": "Read", "amount": "-5"}
    assert parse_text(DONE, "Read 1e999") == {"habit": "Read", "amount": "1e999"}
    assert parse_text(DONE, "Yoga Infinity") == {"habit": "Yoga Infinity"}
    assert parse_text(DONE, "25") == {"habit": "25"}  # a lone word is the habit's name
    assert parse_text(DONE, "") == {}


def test_flags() -> None:
    assert parse_text(UNDO, "Read yesterday") == {"habit": "Read", "yesterday": "true"}
    assert parse_text(UNDO, "Read") == {"habit": "Read"}


def test_timezone_takes_the_rest_of_the_line() -> None:
    assert parse_text(TIMEZONE, "new york") == {"zone": "new york"}


def test_unknown_words_are_a_usage_error() -> None:
    with pytest.raises(UsageError, match="did not understand"):
        parse_text(SETTINGS, "colour blue")


@pytest.mark.parametrize(
    ("command", "text", "close"),
    [
        ("habit add", "Swim freq=3/week", "every"),
        ("habit edit", "Gym frequency=daily", "every"),
        ("habit add", "Read remnd=21:00", "remind"),
        ("settings", "colour=blue", None),
    ],
)
def test_an_unknown_option_is_refused_with_the_known_ones(
    command: str, text: str, close: str | None
) -> None:
    # Before, "freq=3/week" became part of the habit's name.
    with pytest.raises(UsageError) as refused:
        parse_text(REGISTRY.commands[command], text)
    message = str(refused.value)
    assert "There is no option" in message and "Options: " in message
    assert (f"Did you mean {close}=?" in message) if close else "Did you mean" not in message


def test_an_equals_sign_inside_a_name_is_still_a_name() -> None:
    assert parse_text(ADD, "1+1=2 every=day") == {"name": "1+1=2", "every": "day"}
    assert parse_text(DONE, "a=b") == {"habit": "a=b"}  # /done has no options to mistype


@pytest.mark.parametrize("spaced", ["every = day", "every= day", "every =day", "EVERY = day"])
def test_spaces_around_the_equals_sign(spaced: str) -> None:
    assert parse_text(ADD, f"Nap {spaced} remind = 07:30") == {
        "name": "Nap",
        "every": "day",
        "remind": "07:30",
    }


def test_a_free_text_option_runs_to_the_next_option() -> None:
    new = REGISTRY.commands["challenge new"]
    assert parse_text(new, "Move Week days=7 habits=Walk;Read 10 pages") == {
        "title": "Move Week",
        "days": "7",
        "habits": "Walk;Read 10 pages",
    }
    assert parse_text(new, "Move habits=Walk; Read 10 pages days=7 private") == {
        "title": "Move",
        "days": "7",
        "habits": "Walk; Read 10 pages",
        "private": "true",
    }
    edit = REGISTRY.commands["habit edit"]
    assert parse_text(edit, "Read rename=📚 Lesen") == {"name": "Read", "rename": "📚 Lesen"}
    assert parse_text(edit, "Read rename=Lesen jeden Tag every=day") == {
        "name": "Read",
        "rename": "Lesen jeden Tag",
        "every": "day",
    }


def test_an_empty_keyword_value_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unit= needs a value"):
        parse_text(ADD, "Read target=5 unit=")


def test_too_long_input_is_refused_before_tokenising() -> None:
    with pytest.raises(UsageError, match="too long"):
        parse_text(ADD, "x" * (MAX_INPUT + 1))


@pytest.mark.parametrize("length", [1889, 3000])
def test_a_long_name_is_told_one_limit(length: int) -> None:
    # Before: 3,000 characters -> "keep it under 2000", 1,889 -> "at most 64".
    with pytest.raises(UsageError) as refused:
        convert_all(ADD, parse_text(ADD, "x" * length), TODAY)
    assert f"at most {MAX_NAME}" in str(refused.value)
    assert str(MAX_INPUT) not in str(refused.value)


def test_convert_all_requires_required_args() -> None:
    with pytest.raises(UsageError, match="Missing name"):
        convert_all(ADD, {}, TODAY)
    with pytest.raises(UsageError, match="empty"):
        convert_all(ADD, {"name": " \t "}, TODAY)


def test_convert_all_types() -> None:
    values = convert_all(
        ADD,
        {"name": " Read \x00 books ", "every": "3/week", "remind": "21:00,7.30", "target": "2,5"},
        TODAY,
    )
    assert values == {
        "name": "Read books",
        "every": Schedule(DAILY.weekdays, 3),
        "remind": ["07:30", "21:00"],
        "target": 2.5,
    }


@pytest.mark.parametrize(
    ("kind", "text", "value"),
    [
        ("times", "7:05", ["07:05"]),
        ("times", "23h59", ["23:59"]),
        ("times", "off", []),
        ("times", "21:00,21:00", ["21:00"]),
        ("int", "42", 42),
        ("number", "1e3", 1000.0),
        ("date", "today", TODAY),
        ("date", "tomorrow", date(2026, 3, 3)),
        ("date", "2026-12-31", date(2026, 12, 31)),
        ("timezone", "europe/paris", "Europe/Paris"),
        ("flag", "yes", True),
        ("flag", "false", False),
        ("schedule", "Mon, Wed", Schedule(frozenset({0, 2}))),
        # NUL and lone surrogates cannot be stored: dropped; other control characters: spaces.
        ("text", "Re\x00ad \ud800books\x07!", "Read books !"),
        ("word", "\udc00Run", "Run"),
    ],
)
def test_convert_accepts(kind: str, text: str, value: object) -> None:
    assert convert(Arg("x", "x", kind), text, TODAY) == value  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("times", "25:00"),
        ("times", "12:60"),
        ("times", "noon"),
        ("times", ",,,"),
        ("times", "1:00,2:00,3:00,4:00,5:00,6:00,7:00"),
        ("int", "4.5"),
        ("number", "nan"),
        ("number", "-inf"),
        ("number", "abc"),
        ("date", "2026-02-30"),
        ("date", "yesterday-ish"),
        ("timezone", "Mars/Base"),
        ("schedule", "fortnightly"),
        ("schedule", "0/week"),
        ("text", "\x00\x01"),
        ("word", "   "),
    ],
)
def test_convert_refuses(kind: str, text: str) -> None:
    with pytest.raises(InvalidInput):
        convert(Arg("x", "x", kind), text, TODAY)  # type: ignore[arg-type]


def test_number_bounds_and_lengths() -> None:
    target = next(a for a in ADD.args if a.name == "target")
    with pytest.raises(UsageError, match="at least"):
        convert(target, "-5", TODAY)
    with pytest.raises(UsageError, match="at most"):
        convert(target, "1e9", TODAY)
    name = next(a for a in ADD.args if a.name == "name")
    assert convert(name, "x" * name.max_length, TODAY) == "x" * name.max_length
    with pytest.raises(UsageError, match="too long"):
        convert(name, "x" * (name.max_length + 1), TODAY)


def test_huge_and_unicode_integers() -> None:
    bounded = Arg("days", "d", "int", min=1, max=365)
    with pytest.raises(UsageError, match="at most"):
        convert(bounded, "9" * 400, TODAY)  # too big even for a float
    with pytest.raises(UsageError, match="at most"):
        convert(bounded, "𝟙𝟚" * 155, TODAY)
    with pytest.raises(UsageError, match="number"):
        convert(bounded, "9" * 5000, TODAY)  # beyond Python's int digit limit
    assert convert(bounded, "𝟙𝟚", TODAY) == 12
    with pytest.raises(UsageError, match="number"):
        convert(Arg("x", "x", "number"), "9" * 400 + ".5e999999", TODAY)


def test_choices_are_case_insensitive() -> None:
    kind = next(a for a in ADD.args if a.name == "kind")
    assert convert(kind, "QUIT", TODAY) == "quit"
    with pytest.raises(UsageError, match="one of"):
        convert(kind, "stop", TODAY)
