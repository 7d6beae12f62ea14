"""Embedded SQLite behind SQLAlchemy's aiosqlite dialect, called on the event loop's thread.

aiosqlite runs each call on a worker thread: four thread hand-offs per statement (cursor,
execute, fetch, close), about 60 µs each, for statements SQLite itself runs in a few µs. Here
the same aiosqlite Connection makes its calls in place, and nothing waits on SQLite's lock
while holding the loop: the busy timeout is zero, and a call that finds the database locked
(another process writing) sleeps asynchronously and runs again.

SQLite follows SQLAlchemy's recipe for pysqlite/aiosqlite: the driver's own transaction
handling is off and every unit of work starts with BEGIN IMMEDIATE, so concurrent writers queue
for the lock up front instead of failing with "database is locked" halfway through.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Generator
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

LOCK_WAIT = 30.0  # seconds a unit of work waits for another process's write lock
PRAGMAS = ("busy_timeout=0", "journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON")


def is_busy(error: BaseException) -> bool:
    """Whether `error` (as SQLAlchemy wraps it, or raw) is SQLite's "database is locked":
    another process held the write lock past LOCK_WAIT, and nothing was done."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.OperationalError):
            code = getattr(current, "sqlite_errorcode", None)
            return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY
        orig = getattr(current, "orig", None)  # sqlalchemy.exc.DBAPIError
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's Connection (and so its Cursor) without the worker thread."""

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        deadline, pause = 0.0, 0.001
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                # BUSY means nothing was done: SQLite reset the statement, so it can run again.
                if error.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                    raise
                deadline = deadline or time.monotonic() + LOCK_WAIT
                if time.monotonic() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()


async def _connect(path: str) -> InlineConnection:
    # check_same_thread off: the pool may close a connection from another thread at exit.
    connector = partial(sqlite3.connect, path, isolation_level=None, check_same_thread=False)
    return await InlineConnection(connector, iter_chunk_size=64)


def create_sqlite_engine(url: str, **kwargs: Any) -> AsyncEngine:
    path = make_url(url).database or ":memory:"
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # One connection: every unit of work takes the write lock anyway, and waiting for the
        # pool is a quick hand-over where waiting for the lock is a sleep.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
    engine = create_async_engine(url, async_creator=partial(_connect, path), **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # On the driver's cursor: every unit of work runs this, and a SQLAlchemy statement
        # around it would cost more than SQLite's work.
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        cursor.close()

    return engine
