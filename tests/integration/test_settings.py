"""/timezone and /settings through the command layer: what the user reads, and that a refused
change writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.storage.db import Database
from core.storage.models import Habit, User
from tests.conftest import Say


async def ok(say: Say, text: str, **kwargs: object) -> str:
    reply = await say(text, **kwargs)  # type: ignore[arg-type]
    assert not reply.error, f"{text!r} failed: {reply.plain()}"
    return reply.plain()


async def settings_text(say: Say) -> str:
    return await ok(say, "/settings")


# --- /timezone ------------------------------------------------------------------------------


async def test_timezone_shows_the_default_utc(say: Say) -> None:
    text = await ok(say, "/timezone")
    assert "Your time zone is UTC" in text and "09:00" in text


async def test_timezone_valid_name(say: Say) -> None:
    text = await ok(say, "/timezone Europe/Berlin")
    assert "Time zone set to Europe/Berlin" in text and "10:00" in text  # 09:00 UTC + 1h
    assert "Europe/Berlin" in await ok(say, "/timezone")
    assert "time zone: Europe/Berlin" in await settings_text(say)


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("europe/berlin", "Europe/Berlin"),
        ("EUROPE/BERLIN", "Europe/Berlin"),
        ("berlin", "Europe/Berlin"),
        ("Tokyo", "Asia/Tokyo"),
        ("america/new york", "America/New_York"),
        ("utc", "UTC"),
    ],
)
async def test_timezone_is_forgiving_about_case_and_bare_cities(
    say: Say, typed: str, zone: str
) -> None:
    assert f"Time zone set to {zone}" in await ok(say, f"/timezone {typed}")


async def test_timezone_wrong_name_suggests_and_writes_nothing(say: Say) -> None:
    await ok(say, "/timezone Asia/Tokyo")
    reply = await say("/timezone Europe/Berln")
    assert reply.error
    assert "Europe/Berlin" in reply.plain() and "Did you mean" in reply.plain()
    assert len(reply.lines) <= 3
    assert "Asia/Tokyo" in await ok(say, "/timezone")


@pytest.mark.parametrize(
    "typed", ["Mars/Olympus_Mons", "Nowhere", "+05:00", "../../etc/passwd", "🌍", "x" * 300]
)
async def test_timezone_nonexistent_is_refused(say: Say, typed: str) -> None:
    reply = await say(f"/timezone {typed}")
    assert reply.error
    assert "time zone" in reply.plain().lower() or "too long" in reply.plain()
    assert len(reply.plain()) < 300
    assert "Your time zone is UTC" in await ok(say, "/timezone")


async def test_timezone_refreshes_reminders(say: Say, db: Database) -> None:
    await ok(say, "/habit add Read remind=21:00")
    async with db.session() as session:
        before = await session.scalar(select(Habit.next_reminder_at))
    await ok(say, "/timezone Europe/Berlin")
    async with db.session() as session:
        after = await session.scalar(select(Habit.next_reminder_at))
    assert before is not None and after is not None
    assert (before - after).total_seconds() == 3600  # 21:00 Berlin is 20:00 UTC


# --- /settings ------------------------------------------------------------------------------


async def test_settings_show(say: Say) -> None:
    text = await settings_text(say)
    for line in ("time zone: UTC", "nudges: on", "quiet: off", "profile: public"):
        assert line in text
    assert "direct messages from: everyone" in text
    assert "Change with /settings [" in text and "e.g. /settings quiet=22:00-07:00" in text
    # Only what something uses: language (only en) comes later.
    for unused in ("language",):
        assert unused not in text
        refused = await say(f"/settings {unused}=x")
        assert refused.error and "There is no option" in refused.plain()


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ("nudges=off", "nudges: off"),
        ("nudges=ON", "nudges: on"),
        ("quiet=22:00-07:00", "quiet: 22:00-07:00"),
        ("quiet=9:00 - 17:30", None),  # a space splits it: refused, see below
    ],
)
async def test_settings_change_each_key(say: Say, change: str, shown: str | None) -> None:
    reply = await say(f"/settings {change}")
    if shown is None:
        assert reply.error
        return
    assert not reply.error, reply.plain()
    assert "Settings saved" in reply.plain() and shown in reply.plain()
    assert shown in await settings_text(say)  # and it stuck


async def test_settings_several_at_once_and_quiet_off(say: Say, db: Database) -> None:
    text = await ok(say, "/settings quiet=22:00-07:00 nudges=off")
    assert "nudges: off" in text and "quiet: 22:00-07:00" in text
    async with db.session() as session:
        user = await session.scalar(select(User))
        assert user is not None
        assert (user.quiet_start, user.quiet_end) == (22 * 60, 7 * 60)
        assert user.nudges is False
    assert "quiet: off" in await ok(say, "/settings quiet=off")
    assert "nudges: on" in await ok(say, "/settings nudges=on")


@pytest.mark.parametrize(
    "bad",
    [
        "nudges=sometimes",
        "quiet=25:00-07:00",
        "quiet=22:00",
        "quiet=22:00-22:00",
        "quiet=" + "9" * 40,
        "colour=blue",
        "nudges=",
    ],
)
async def test_settings_bad_values_get_usage_and_change_nothing(say: Say, bad: str) -> None:
    before = await settings_text(say)
    reply = await say(f"/settings nudges=off {bad}")
    assert reply.error, reply.plain()
    assert "Usage: /settings" in reply.plain()
    assert len(reply.lines) <= 3
    assert await settings_text(say) == before


async def test_settings_are_per_user(say: Say) -> None:
    await ok(say, "/settings nudges=off")
    assert "nudges: on" in await ok(say, "/settings", user="bob")
