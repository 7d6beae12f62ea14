from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from core.habits.schedule import DAILY, parse_schedule
from core.habits.streaks import Streak, completion_rate, missed_scheduled_days, streak

MON = date(2026, 3, 2)  # a Monday
START = date(2026, 1, 5)  # a Monday, well before MON
MWF = parse_schedule("mon,wed,fri")


def d(offset: int) -> date:
    return MON + timedelta(days=offset)


def test_daily_streak_counts_consecutive_days() -> None:
    done = {d(-2), d(-1), d(0)}
    assert streak(DAILY, done, d(0), START) == Streak(3, 3, "day")


def test_today_not_done_yet_does_not_break() -> None:
    assert streak(DAILY, {d(-2), d(-1)}, d(0), START).current == 2


def test_missing_yesterday_breaks_but_best_remembers() -> None:
    done = {d(-6), d(-5), d(-4), d(-3), d(0)}
    assert streak(DAILY, done, d(0), START) == Streak(1, 4, "day")


def test_mwf_missing_wednesday_breaks_but_skipping_tuesday_does_not() -> None:
    # Mon d(0), Wed d(2), Fri d(4), next Mon d(7)
    assert streak(MWF, {d(0), d(2), d(4), d(7)}, d(8), START).current == 4
    assert streak(MWF, {d(0), d(4), d(7)}, d(8), START).current == 2


def test_check_in_on_unscheduled_day_neither_counts_nor_breaks() -> None:
    assert streak(MWF, {d(0), d(1), d(2)}, d(3), START).current == 2


def test_freeze_keeps_streak_but_does_not_add() -> None:
    done = {d(-3), d(-2), d(0)}
    assert streak(DAILY, done, d(0), START).current == 1
    assert streak(DAILY, done, d(0), START, frozen={d(-1)}).current == 3


def test_days_before_start_do_not_count() -> None:
    assert streak(DAILY, {d(-3), d(-2), d(-1), d(0)}, d(0), start=d(-1)).current == 2


def test_nothing_done_is_zero() -> None:
    assert streak(DAILY, set(), d(0), START) == Streak(0, 0, "day")


def test_weekly_three_last_week_one_this_week_is_one_week() -> None:
    s = parse_schedule("3/week")
    done = {d(-7), d(-5), d(-1), d(1)}  # 3 last week, 1 so far this week
    assert streak(s, done, d(2), START) == Streak(1, 1, "week", this_week=1, times=3)


def test_weekly_met_current_week_counts_and_missed_week_breaks() -> None:
    s = parse_schedule("2/week")
    done = {d(-21), d(-20), d(-7), d(-6), d(0), d(1)}  # week -14 missed
    assert streak(s, done, d(2), START) == Streak(2, 2, "week", this_week=2, times=2)


def test_streak_is_fast_for_two_years() -> None:
    today = date(2026, 3, 2)
    start = today - timedelta(days=730)
    done = {start + timedelta(days=i) for i in range(731)}
    assert streak(DAILY, done, today, start).current == 731


def test_missed_scheduled_days_skips_done_frozen_and_unscheduled() -> None:
    missed = missed_scheduled_days(MWF, {d(0)}, {d(4)}, d(0), d(7))
    assert missed == [d(2), d(7)]
    assert missed_scheduled_days(parse_schedule("3/week"), set(), set(), d(0), d(7)) == []


def test_completion_rate_ignores_undone_today() -> None:
    done = {d(-3), d(-2), d(-1)}
    assert completion_rate(DAILY, done, d(0), START, days=4) == 1.0
    assert completion_rate(DAILY, done | {d(0)}, d(0), START, days=4) == 1.0
    assert completion_rate(DAILY, {d(-3)}, d(0), START, days=4) == 1 / 3


def test_completion_rate_only_counts_scheduled_days_and_clips_to_start() -> None:
    # last 7 days ending Sun d(6): Mon, Wed, Fri due; done Mon, Fri (+ an unscheduled Tue)
    assert completion_rate(MWF, {d(0), d(1), d(4)}, d(6), START, days=7) == 2 / 3
    assert completion_rate(DAILY, {d(-1)}, d(0), start=d(-1), days=30) == 1.0
    assert completion_rate(DAILY, set(), d(0), start=d(0), days=30) is None


def test_weekly_completion_rate() -> None:
    s = parse_schedule("2/week")
    # two weeks ending today (done today): 3 of 4 needed check-ins
    assert completion_rate(s, {d(0), d(3), d(13)}, d(13), START, days=14) == 3 / 4
    # an open today is left out of the span instead of counting against the user
    assert completion_rate(s, {d(0), d(3), d(7)}, d(13), START, days=14) == 3 / (2 * 13 / 7)
    assert completion_rate(s, {d(i) for i in range(10)}, d(13), START, days=14) == 1.0


@given(
    st.sets(st.integers(0, 120)),
    st.sets(st.integers(0, 120)),
    st.sampled_from(["day", "weekdays", "mon,wed,fri", "sat", "1/week", "3/week"]),
    st.integers(0, 120),
)
def test_current_never_exceeds_best(
    done_off: set[int], frozen_off: set[int], text: str, today_off: int
) -> None:
    start = date(2025, 1, 1)
    s = parse_schedule(text)
    done = {start + timedelta(days=i) for i in done_off}
    frozen = {start + timedelta(days=i) for i in frozen_off}
    result = streak(s, done, start + timedelta(days=today_off), start, frozen)
    assert 0 <= result.current <= result.best
