from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.habits.schedule import DAILY, Schedule, parse_schedule

MON = date(2026, 3, 2)  # a Monday


@pytest.mark.parametrize(
    "text", ["day", "daily", "everyday", "every day", "  Every   DAY ", "7/week"]
)
def test_daily_spellings_all_mean_daily(text: str) -> None:
    assert parse_schedule(text) == DAILY
    assert DAILY.text() == "day"
    assert DAILY.describe() == "every day"


def test_weekdays_and_weekends() -> None:
    wd = parse_schedule("Weekdays")
    assert [wd.is_scheduled(date(2026, 3, d)) for d in range(2, 9)] == [True] * 5 + [False] * 2
    assert wd.describe() == "on weekdays"
    assert parse_schedule("weekends").describe() == "on weekends"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("mon,wed,fri", "mon,wed,fri"),
        ("Friday, monday ,WED", "mon,wed,fri"),
        ("tues,thurs", "tue,thu"),
        ("thur,thu,tue,tue", "tue,thu"),
        ("mon,tue,wed,thu,fri", "weekdays"),
        ("sat,sunday", "weekends"),
        ("mon,tue,wed,thu,fri,sat,sun", "day"),
    ],
)
def test_day_lists_normalise_to_canonical_text(text: str, canonical: str) -> None:
    assert parse_schedule(text).text() == canonical


def test_day_list_only_due_on_chosen_days() -> None:
    s = parse_schedule("mon,wed,fri")
    assert s.describe() == "Mon, Wed, Fri"
    assert [s.is_scheduled(date(2026, 3, d)) for d in range(2, 9)] == [
        True,
        False,
        True,
        False,
        True,
        False,
        False,
    ]


@pytest.mark.parametrize("text", ["3/week", "3x/week", "3 / w", "3X/Week", "3/wk"])
def test_times_per_week_any_day_counts(text: str) -> None:
    s = parse_schedule(text)
    assert s.weekly and s.times_per_week == 3
    assert all(s.is_scheduled(date(2026, 3, d)) for d in range(2, 9))
    assert (s.text(), s.describe()) == ("3/week", "3 times a week")


def test_once_a_week() -> None:
    assert parse_schedule("1/week").describe() == "once a week"


def test_frequency_times_and_period_match_loop() -> None:
    cases = {
        "day": (1.0, 1, 1),
        "weekdays": (5 / 7, 5, 7),
        "mon,wed,fri": (3 / 7, 3, 7),
        "3/week": (3 / 7, 3, 7),
    }
    for text, (freq, times, period) in cases.items():
        s = parse_schedule(text)
        assert (s.frequency, s.times, s.period_days) == pytest.approx((freq, times, period))


@pytest.mark.parametrize(
    "text",
    ["", "   ", "0/week", "8/week", "mon,funday", "every other day", "x" * 5000, "mon;wed", ","],
)
def test_rejects_junk_with_short_user_message(text: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_schedule(text)
    msg = str(exc.value)
    assert "\n" not in msg and len(msg) < 120
    assert "mon,wed,fri" in msg and "3/week" in msg


def test_schedule_rejects_invalid_construction() -> None:
    with pytest.raises(ValueError):
        Schedule(frozenset())
    with pytest.raises(ValueError):
        Schedule(frozenset({1}), times_per_week=2)


_SCHEDULE_ALPHABET = st.sampled_from([*"monwedfrithusa/x0123456789 ,\n\t", "day", "week", "É", "٣"])


@given(st.one_of(st.text(max_size=40), st.lists(_SCHEDULE_ALPHABET, max_size=12).map("".join)))
def test_parse_returns_schedule_or_value_error_and_round_trips(text: str) -> None:
    try:
        s = parse_schedule(text)
    except ValueError:
        return
    assert parse_schedule(s.text()) == s
    assert parse_schedule(s.text()).text() == s.text()


@given(st.frozensets(st.integers(0, 6), min_size=1), st.one_of(st.none(), st.integers(1, 6)))
def test_every_schedule_text_round_trips(days: frozenset[int], n: int | None) -> None:
    s = Schedule(frozenset(range(7)), n) if n else Schedule(days)
    assert parse_schedule(s.text()) == s
    assert s.describe()
