"""Issue 6 as users see it in the console: `:time` travel fires reminders, nudges and group
announcements at the right local times (across DST changes), once each."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bots.commands import Deps
from bots.console.repl import Console
from core.clock import FakeClock
from scheduler.console import ConsoleScheduler

DAY = timedelta(days=1)
_STAMP = re.compile(r"^-- \w{3} (\d{4}-\d{2}-\d{2} \d{2}:\d{2}) UTC --$")
_TO = re.compile(r"^\[to (.+)\]$")


@dataclass(frozen=True)
class Delivery:
    at: datetime  # UTC
    chat: str
    text: str

    def local(self, tz: str) -> datetime:
        return self.at.astimezone(ZoneInfo(tz))


class Term:
    """A console with the scheduler attached, writing to a string."""

    def __init__(self, deps: Deps, clock: FakeClock) -> None:
        self.out = io.StringIO()
        self.console = Console(deps, clock, out=self.out)
        self.scheduler = ConsoleScheduler(self.console, deps.db, clock)
        self._read = 0

    async def __call__(self, *lines: str) -> str:
        """Type lines; returns what appeared since the last call."""
        for line in lines:
            await self.console.handle(line)
        text = self.out.getvalue()[self._read :]
        self._read = len(self.out.getvalue())
        return text


def deliveries(output: str) -> list[Delivery]:
    """Every "[to ...]" message with the travel step it was printed at."""
    found: list[Delivery] = []
    at: datetime | None = None
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if stamp := _STAMP.match(line):
            at = datetime.fromisoformat(stamp.group(1)).replace(tzinfo=UTC)
        elif to := _TO.match(line):
            assert at is not None, f"message without a time stamp: {line}"
            body = []
            for following in lines[index + 1 :]:
                if _TO.match(following) or _STAMP.match(following):
                    break
                if following.startswith("It is now"):
                    break
                body.append(following)
            found.append(Delivery(at, to.group(1), "\n".join(body)))
    return found


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(day: date, hh: int, mm: int, tz: str) -> datetime:
    return datetime.combine(day, time(hh, mm), ZoneInfo(tz)).astimezone(UTC)


def reminders(found: list[Delivery], chat: str, habit: str = "") -> list[Delivery]:
    return [d for d in found if d.chat == chat and d.text.startswith("⏰") and habit in d.text]


async def test_two_days_three_time_zones_every_kind_once(deps: Deps, clock: FakeClock) -> None:
    """Sat 28 - Mon 30 March 2026: Berlin springs forward on the 29th, New York is already on
    summer time, Kolkata has a half-hour offset and no DST."""
    clock.set(utc("2026-03-28T00:00"))
    term = Term(deps, clock)
    setup = await term(
        ":as ann", "/timezone Europe/Berlin",
        "/habit add Read remind=07:30,21:00", "/habit add Stretch", "/done Stretch",
        ":as bob", "/timezone America/New_York",
        "/habit add Run remind=06:45", "/done Run", "/settings nudges=off",
        ":as cho", "/timezone Asia/Kolkata",
        "/habit add Yoga remind=22:15", "/done Yoga", "/claim",
        ":as boss", "/timezone Europe/Berlin", ":group gym admin",
        "/group settings digest=21:00 timezone=Europe/Berlin",
        "/challenge new Spring days=1 habits=Walk start=tomorrow",
        ":as ann", ":group gym", "/join 1", ":private",
    )
    assert "error" not in setup.lower() and "went wrong" not in setup, setup
    found = deliveries(await term(":time 2026-03-30T00:00"))
    got = sorted((d.at, d.chat, d.text.splitlines()[0]) for d in found)

    expected = [
        # ann (Berlin): 07:30 and 21:00 local; CET (+1) on Saturday, CEST (+2) from Sunday.
        (utc("2026-03-28T06:30"), "ann", "⏰ Time for Read (07:30)."),
        (utc("2026-03-28T20:00"), "ann", "⏰ Time for Read (21:00)."),
        (utc("2026-03-29T05:30"), "ann", "⏰ Time for Read (07:30)."),
        (utc("2026-03-29T19:00"), "ann", "⏰ Time for Read (21:00)."),
        # ann's 20:00 nudges: checked in Saturday (claim waiting), streak to keep Sunday.
        (utc("2026-03-28T19:00"), "ann", "💎 You checked in today: /claim your gems before "
         "midnight to keep your streak of 1 on Stretch and the 7-day cycle going."),
        # The nudge names whose streak it is (before: "your streak of 1", no habit).
        (utc("2026-03-29T18:00"), "ann", "🔥 Keep your streak of 1 on Stretch alive: check in "
         "today, "
         "then /claim your gems."),
        # bob (New York, EDT -4): his /done at 20:00 Friday local counted for Friday.
        (utc("2026-03-28T10:45"), "bob", "⏰ Time for Run (06:45)."),
        (utc("2026-03-29T10:45"), "bob", "⏰ Time for Run (06:45)."),
        # cho (Kolkata +5:30): 22:15 local; Saturday done; claimed Saturday, nudged Sunday.
        (utc("2026-03-29T16:45"), "cho", "⏰ Time for Yoga (22:15)."),
        (utc("2026-03-29T14:30"), "cho", "🔥 Keep your streak of 1 on Yoga alive: check in "
         "today, "
         "then /claim your gems."),
        # The group (Berlin): digest at 21:00; the one-day challenge starts at local midnight
        # (its last day at once) and ends at the next local midnight.
        (utc("2026-03-28T20:00"), "gym", "🗞 gym today"),
        (utc("2026-03-28T23:00"), "gym", "🏁 Spring starts today: 1 day, until 29 Mar 2026. "
         "Join with /join 1"),
        (utc("2026-03-28T23:00"), "gym", "⏳ Last day of Spring! Check in today to count."),
        (utc("2026-03-29T19:00"), "gym", "🗞 gym today"),
        (utc("2026-03-29T22:00"), "gym", "🏆 Spring has ended. Final board:"),
        # ann, its one participant, did nothing on its one day, and hears so privately.
        (utc("2026-03-29T22:00"), "ann", "🏁 Spring has ended. You ranked #1 of 1 with 0% "
         "(0/1 tasks)."),
    ]
    assert got == sorted(expected)
    # Saturday's Yoga (done at 05:30 local) was not reminded; its text has the Done button.
    [reminder] = reminders(found, "cho")
    assert "[1] ✅ Done" in reminder.text


async def test_spring_forward_0230_fires_once_after_the_gap(deps: Deps, clock: FakeClock) -> None:
    """02:30 does not exist on 29 March in Berlin nor on 8 March in New York."""
    for tz, day in (("Europe/Berlin", date(2026, 3, 29)), ("America/New_York", date(2026, 3, 8))):
        clock.set(local(day - DAY, 12, 0, tz))
        term = Term(deps, clock)
        user = tz.split("/")[1].lower()
        await term(f":as {user}", f"/timezone {tz}", "/habit add Pills remind=02:30")
        found = reminders(deliveries(await term(":time +3d")), user)
        days = [d.local(tz).date() for d in found]
        assert len(days) == len(set(days)) == 3, found
        on_the_day = [d.local(tz) for d in found if d.local(tz).date() == day]
        assert len(on_the_day) == 1
        assert time(3, 0) <= on_the_day[0].time() <= time(3, 30), on_the_day
        others = [d.local(tz).time() for d in found if d.local(tz).date() != day]
        assert others == [time(2, 30), time(2, 30)]


async def test_fall_back_repeated_hour_fires_once(deps: Deps, clock: FakeClock) -> None:
    """Berlin repeats 02:00-03:00 on 25 October; New York repeats 01:00-02:00 on 1 November."""
    cases = (("Europe/Berlin", date(2026, 10, 25), "02:30"),
             ("America/New_York", date(2026, 11, 1), "01:30"))
    for tz, day, at in cases:
        clock.set(local(day - DAY, 12, 0, tz))
        term = Term(deps, clock)
        user = tz.split("/")[1].lower()
        await term(f":as {user}", f"/timezone {tz}", f"/habit add Pills remind={at}")
        found = reminders(deliveries(await term(":time +3d")), user)
        days = [d.local(tz).date() for d in found]
        assert sorted(days) == sorted(set(days)) and day in days, found
        first = next(d for d in found if d.local(tz).date() == day)
        assert first.local(tz).strftime("%H:%M") == at
        assert first.local(tz).fold == 0  # the first of the two, summer time still


async def test_no_reminder_when_done_and_the_button_checks_in(
    deps: Deps, clock: FakeClock
) -> None:
    clock.set(utc("2026-03-02T06:00"))  # Monday, 07:00 in Berlin
    term = Term(deps, clock)
    await term("/timezone Europe/Berlin", "/habit add Read remind=07:30")
    await term("/done Read")
    monday = await term(":time 2026-03-02T08:00")
    assert "[to me]" not in monday  # done before 07:30: no reminder
    tuesday = await term(":time 2026-03-03T07:00")
    [reminder] = reminders(deliveries(tuesday), "me")  # (and Monday evening's nudge)
    assert reminder.at == utc("2026-03-03T06:30") and "[1] ✅ Done" in reminder.text
    pressed = await term("1")  # the console presses the reminder's Done button
    assert "✅ Read done for today." in pressed
    assert "✅ Read" in await term("/today")
    evening = deliveries(await term(":time 2026-03-03T23:00"))
    assert reminders(evening, "me") == [] and "/claim" in evening[0].text  # the nudge only


async def test_several_times_and_only_scheduled_days(deps: Deps, clock: FakeClock) -> None:
    clock.set(utc("2026-03-06T12:00"))  # Friday noon UTC
    term = Term(deps, clock)
    await term("/habit add Walk every=weekdays remind=09:00,17:30")
    found = reminders(deliveries(await term(":time 2026-03-10T00:00")), "me")
    assert [d.at for d in found] == [
        utc("2026-03-06T17:30"),  # Friday afternoon; nothing on Saturday and Sunday
        utc("2026-03-09T09:00"),
        utc("2026-03-09T17:30"),
    ]


async def test_quiet_hours_hold_messages_until_they_end(deps: Deps, clock: FakeClock) -> None:
    clock.set(utc("2026-03-02T12:00"))
    term = Term(deps, clock)
    await term("/timezone Europe/Berlin", "/settings quiet=22:00-07:00",
               "/habit add Floss remind=23:00", "/habit add Read remind=06:00")
    found = deliveries(await term(":time 2026-03-04T12:00"))
    # 06:00 Berlin falls in quiet hours and arrives at 07:00 (06:00 UTC), an hour late. 23:00
    # would arrive eight hours late, so it is skipped like any reminder over an hour late;
    # before, yesterday's 23:00 came each morning.
    assert sorted((d.at, d.text.splitlines()[0]) for d in found) == [
        (utc("2026-03-03T06:00"), "⏰ Time for Read (06:00)."),
        (utc("2026-03-04T06:00"), "⏰ Time for Read (06:00)."),
    ]


async def test_a_reminder_time_in_quiet_hours_is_warned_about(
    deps: Deps, clock: FakeClock
) -> None:
    term = Term(deps, clock)
    await term("/settings quiet=22:00-07:00")
    added = await term("/habit add Stretch remind=06:30,23:00")
    assert "Stretch at 23:00 is in your quiet hours: it would wait until 07:00" in added
    assert "Stretch at 06:30 is in your quiet hours: it arrives at 07:00." in added
    assert "quiet hours" not in await term("/habit edit Stretch remind=12:00")
    assert "Stretch at 23:00" in await term("/habit edit Stretch remind=23:00")
    # Setting quiet hours over existing reminders tells which ones they catch.
    assert "Stretch at 23:00 is in your quiet hours" in await term("/settings quiet=21:00-08:00")
    assert "quiet hours:" not in await term("/settings quiet=off")


async def test_a_held_reminder_done_meanwhile_is_not_sent(deps: Deps, clock: FakeClock) -> None:
    clock.set(utc("2026-03-02T12:00"))
    term = Term(deps, clock)
    await term("/settings quiet=21:00-08:00", "/habit add Floss remind=07:00")
    assert "[to me]" not in await term(":time 2026-03-03T07:30")  # held until 08:00
    await term("/done Floss")
    assert "[to me]" not in await term(":time 2026-03-03T09:00")


async def test_nudge_respects_quiet_hours_and_settings(deps: Deps, clock: FakeClock) -> None:
    clock.set(utc("2026-03-02T08:00"))
    term = Term(deps, clock)
    await term("/habit add Read", "/done Read", "/settings quiet=19:30-20:30")
    [nudge] = deliveries(await term(":time 2026-03-02T23:00"))
    assert nudge.at == utc("2026-03-02T20:30") and "/claim" in nudge.text
    await term("/settings nudges=off")  # Tuesday: a streak to keep, but nudges are off
    assert deliveries(await term(":time 2026-03-04T00:00")) == []
    await term("/settings nudges=on", "/done Read")
    [wednesday] = deliveries(await term(":time 2026-03-05T00:00"))
    assert wednesday.at == utc("2026-03-04T20:30") and "You checked in today" in wednesday.text
