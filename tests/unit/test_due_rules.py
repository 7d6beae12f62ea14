"""When quiet hours end and when the evening nudge is due, in local time across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from core.reminders import STALE, next_nudge_at, quiet_until
from core.storage.models import User


def at(day: date, hh: int, mm: int, tz: str) -> datetime:
    return datetime.combine(day, time(hh, mm), ZoneInfo(tz)).astimezone(UTC)


def user(tz: str, quiet: tuple[int, int] | None) -> User:
    start, end = quiet if quiet else (None, None)
    return User(name="x", timezone=tz, quiet_start=start, quiet_end=end)


def test_quiet_hours_across_midnight() -> None:
    u = user("Europe/Berlin", (22 * 60, 7 * 60))
    monday = date(2026, 3, 2)
    assert quiet_until(u, at(monday, 21, 59, "Europe/Berlin")) is None
    assert quiet_until(u, at(monday, 23, 0, "Europe/Berlin")) == at(
        date(2026, 3, 3), 7, 0, "Europe/Berlin")
    assert quiet_until(u, at(monday, 6, 59, "Europe/Berlin")) == at(monday, 7, 0, "Europe/Berlin")
    assert quiet_until(u, at(monday, 7, 0, "Europe/Berlin")) is None


def test_quiet_hours_within_a_day_and_off() -> None:
    u = user("America/New_York", (13 * 60, 14 * 60 + 30))
    day = date(2026, 3, 8)  # New York springs forward at 02:00 that morning
    assert quiet_until(u, at(day, 13, 10, "America/New_York")) == at(
        day, 14, 30, "America/New_York")
    assert quiet_until(user("UTC", None), at(day, 13, 10, "UTC")) is None


def test_quiet_hours_ending_in_the_spring_gap_end_after_it() -> None:
    u = user("Europe/Berlin", (23 * 60, 2 * 60 + 30))  # 02:30 does not exist on 29 March
    ends = quiet_until(u, at(date(2026, 3, 28), 23, 30, "Europe/Berlin"))
    assert ends is not None
    assert ends.astimezone(ZoneInfo("Europe/Berlin")).time() >= time(3, 0)


def test_nudge_at_20_local_on_dst_days() -> None:
    berlin = "Europe/Berlin"
    assert next_nudge_at(berlin, at(date(2026, 3, 28), 21, 0, berlin)) == datetime(
        2026, 3, 29, 18, 0, tzinfo=UTC)  # Sunday is on summer time already
    assert next_nudge_at(berlin, at(date(2026, 10, 25), 19, 59, berlin)) == datetime(
        2026, 10, 25, 19, 0, tzinfo=UTC)
    exactly = at(date(2026, 3, 2), 20, 0, "UTC")
    assert next_nudge_at("UTC", exactly) == datetime(2026, 3, 3, 20, 0, tzinfo=UTC)


def test_how_long_an_outbox_message_is_worth_retrying() -> None:
    from datetime import timedelta

    from core.delivery import Claimed, useful_until

    queued = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    due = queued + timedelta(minutes=5)

    def row(kind: str, data: dict[str, object]) -> Claimed:
        return Claimed(1, "telegram", "1", kind, data, 0, "k", queued, created_at=queued)

    # A reminder, until it goes stale (an hour after it was due); an announcement for a day.
    assert useful_until(row("reminder", {"due": due.isoformat()}), queued) == due + STALE
    assert useful_until(row("nudge", {"due": due.isoformat()}), queued) == due + STALE
    assert useful_until(row("challenge_final", {}), queued) == queued + timedelta(days=1)
