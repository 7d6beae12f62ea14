"""Embedded SQLite runs on the event loop's thread: while another process holds the write lock,
the bot keeps serving and the command waits its turn; a lock held too long gets an apology and
changes nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest

from core.storage import sqlite as embedded
from core.storage.db import Database
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


async def test_a_lock_held_too_long_gets_an_apology_and_writes_nothing(
    say: Say, other_writer: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedded, "LOCK_WAIT", 0.2)
    other_writer.execute("BEGIN IMMEDIATE")
    reply = await say("/habit add Read")
    other_writer.execute("COMMIT")
    assert reply.error and "Something went wrong (ref" in reply.plain()
    assert "No habits yet" in await say.text("/habit list")
