from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.rewards.badges import BADGE_TITLES, badge_title, streak_badges
from core.rewards.claims import (
    GEM_CYCLE,
    format_gems,
    gems_for_cycle_day,
    next_cycle_day,
    until_next_local_midnight,
)

TODAY = date(2026, 3, 10)
YESTERDAY = TODAY - timedelta(days=1)
BERLIN = ZoneInfo("Europe/Berlin")


def test_first_claim_starts_at_day_one() -> None:
    assert next_cycle_day(None, 0, TODAY) == 1


def test_consecutive_claims_walk_the_seven_day_cycle_and_wrap() -> None:
    day, last, seen = 1, TODAY, [1]
    for _ in range(8):
        day = next_cycle_day(last, day, last + timedelta(days=1))
        last += timedelta(days=1)
        seen.append(day)
    assert seen == [1, 2, 3, 4, 5, 6, 7, 1, 2]
    assert [gems_for_cycle_day(n) for n in range(1, 8)] == list(GEM_CYCLE)


def test_gap_resets_cycle() -> None:
    assert next_cycle_day(YESTERDAY, 5, TODAY) == 6
    assert next_cycle_day(TODAY - timedelta(days=2), 5, TODAY) == 1


def test_claiming_twice_a_day_is_an_error() -> None:
    with pytest.raises(ValueError):
        next_cycle_day(TODAY, 3, TODAY)
    with pytest.raises(ValueError):
        next_cycle_day(TODAY + timedelta(days=1), 3, TODAY)
    with pytest.raises(ValueError):
        gems_for_cycle_day(8)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 3, 10, 22, 30, tzinfo=BERLIN), timedelta(hours=1, minutes=30)),
        # Spring forward (2026-03-29 02:00 -> 03:00): the day has 23 hours.
        (datetime(2026, 3, 29, 0, 0, tzinfo=BERLIN), timedelta(hours=23)),
        (datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN), timedelta(hours=21, minutes=30)),
        # Fall back (2026-10-25 03:00 -> 02:00): the day has 25 hours.
        (datetime(2026, 10, 25, 0, 0, tzinfo=BERLIN), timedelta(hours=25)),
        (datetime(2026, 10, 25, 2, 30, fold=0, tzinfo=BERLIN), timedelta(hours=22, minutes=30)),
        (datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN), timedelta(hours=21, minutes=30)),
    ],
)
def test_until_next_local_midnight_on_dst_days(now: datetime, expected: timedelta) -> None:
    assert until_next_local_midnight(now) == expected


def test_until_next_local_midnight_needs_aware_time() -> None:
    with pytest.raises(ValueError):
        until_next_local_midnight(datetime(2026, 3, 10, 12))


@pytest.mark.parametrize(
    ("amount", "text"), [(125, "1.25"), (10, "0.10"), (0, "0.00"), (-200, "-2.00"), (-5, "-0.05")]
)
def test_format_gems(amount: int, text: str) -> None:
    assert format_gems(amount) == text


def test_streak_badges_and_titles() -> None:
    assert streak_badges(2) == []
    assert streak_badges(21) == ["streak_3", "streak_7", "streak_14", "streak_21"]
    assert len(streak_badges(1000)) == 8
    assert badge_title("streak_7") == "7-day streak"
    assert badge_title("challenge_won") == "Challenge winner"
    assert all(badge_title(code) for code in BADGE_TITLES)
    assert badge_title("mystery_badge") == "Mystery badge"
