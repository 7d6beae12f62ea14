from datetime import date, timedelta

import pytest

from core.habits.schedule import DAILY, parse_schedule
from core.habits.strength import strength

START = date(2026, 3, 2)


def perfect(days: int) -> dict[date, float]:
    return {START + timedelta(days=i): 1.0 for i in range(days)}


def test_perfect_daily_habit_is_half_strong_after_13_days() -> None:
    assert strength(DAILY, perfect(13), START, START + timedelta(days=12)) == pytest.approx(
        0.5, abs=0.005
    )


def test_perfect_daily_habit_is_about_67_percent_after_21_days() -> None:
    assert strength(DAILY, perfect(21), START, START + timedelta(days=20)) == pytest.approx(
        0.674, abs=0.005
    )


def test_empty_habit_has_no_strength() -> None:
    assert strength(DAILY, {}, START, START + timedelta(days=100)) == 0.0


def test_strength_fades_after_stopping() -> None:
    today = START + timedelta(days=40)
    assert strength(DAILY, perfect(20), START, today) < strength(
        DAILY, perfect(20), START, START + timedelta(days=19)
    )


def test_perfect_mwf_habit_is_not_penalised_on_off_days() -> None:
    mwf = parse_schedule("mon,wed,fri")
    values = {
        START + timedelta(days=i): 1.0
        for i in range(200)
        if (START + timedelta(days=i)).weekday() in (0, 2, 4)
    }
    assert strength(mwf, values, START, START + timedelta(days=199)) > 0.95


def test_measurable_overshoot_is_capped_and_bad_values_ignored() -> None:
    today = START + timedelta(days=12)
    over = {START + timedelta(days=i): 5.0 for i in range(13)}
    assert strength(DAILY, over, START, today) == pytest.approx(0.5, abs=0.005)
    bad = {START: float("nan"), START + timedelta(days=1): -3.0}
    assert strength(DAILY, bad, START, today) == 0.0


def test_partial_amounts_give_partial_strength() -> None:
    half = {START + timedelta(days=i): 0.5 for i in range(13)}
    assert strength(DAILY, half, START, START + timedelta(days=12)) == pytest.approx(
        0.25, abs=0.005
    )
