"""Embedded SQLite runs on the event loop's thread: while another process holds the write lock,
the bot keeps serving and the command waits its turn; a lock held too long gets a short "busy,
try again" reply and changes nothing, and console start-up says what is wrong."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from core.storage import sqlite as embedded
from core.storage.db import Database
from habitbot import app
from habitbot.settings import Settings
from tests.conftest import Say


@pytest.fixture
def other_writer(db: Database) -> sqlite3.Connection:
    if db.dialect != "sqlite":
        pytest.skip("SQLite's file lock only")
    path = db.engine.url.database
    assert path is not None
    connection = sqlite3.connect(path, isolation_level=None)
    yield connection
    connection.close()


async def test_a_command_waits_for_another_process_lock_without_stalling_the_bot(
    say: Say, other_writer: sqlite3.Connection
) -> None:
    other_writer.execute("BEGIN IMMEDIATE")
    waiting = asyncio.create_task(say("/habit add Read"))
    started = time.perf_counter()
    await asyncio.sleep(0.2)  # the loop keeps running while the command waits for the lock
    assert time.perf_counter() - started < 0.5
    assert not waiting.done()
    other_writer.execute("COMMIT")
    reply = await asyncio.wait_for(waiting, 2)
    assert "Added Read" in reply.plain()
    assert "Read" in await say.text("/habit list")


async def test_a_lock_held_too_long_gets_a_busy_reply_and_writes_nothing(
    say: Say, other_writer: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded, "LOCK_WAIT", 0.2)
    other_writer.execute("BEGIN IMMEDIATE")
    reply = await say("/habit add Read")
    other_writer.execute("COMMIT")
    assert reply.error and reply.plain() == "I'm busy right now; please try again in a moment."
    assert "No habits yet" in await say.text("/habit list")
    assert "Added Read" in await say.text("/habit add Read")  # and a moment later it works


async def test_console_start_up_explains_a_lock_held_too_long(
    db: Database,
    other_writer: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(embedded, "LOCK_WAIT", 0.2)
    settings = Settings(_env_file=None, database_url=db.url)  # type: ignore[call-arg]
    other_writer.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(SystemExit) as stopped:
            await app.console(settings)
    finally:
        other_writer.execute("COMMIT")
    message = str(stopped.value.code)
    assert "locked by another process" in message and db.url.split("///")[-1] in message


async def test_console_start_up_waits_for_a_short_lock(
    db: Database, other_writer: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(_env_file=None, database_url=db.url)  # type: ignore[call-arg]
    other_writer.execute("BEGIN IMMEDIATE")
    opening = asyncio.create_task(app.open_database(settings))
    await asyncio.sleep(0.3)
    assert not opening.done()
    other_writer.execute("COMMIT")
    opened = await asyncio.wait_for(opening, 2)
    await opened.dispose()
