"""Engine, sessions and the unit of work.

SQLite follows SQLAlchemy's recipe for pysqlite/aiosqlite: the driver's own transaction
handling is switched off and we BEGIN IMMEDIATE ourselves, so concurrent writers queue on
busy_timeout instead of failing with "database is locked" halfway through.

SQLite runs through `_SqliteConnection`, a lean stand-in for aiosqlite's connection: each
statement is executed, fetched and closed in one trip to the connection's thread (aiosqlite
makes four: cursor, execute, fetchall, close), which was most of a check-in's cost. A file
database gets one pooled connection: every unit of work takes the write lock anyway, and
waiting for the pool is a quick hand-over where waiting on busy_timeout sleeps.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from queue import SimpleQueue
from typing import Any, TypeVar, cast

from sqlalchemy import BindParameter, Table, bindparam, event, make_url
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.dml import Insert

from core.storage.models import Base

T = TypeVar("T")
S = TypeVar("S")
M = TypeVar("M", bound=Base)
_Result = tuple[Any, int, int | None, list[Any]]  # description, rowcount, lastrowid, rows


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = make_url(url).database or ":memory:"
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)

        async def connect() -> _SqliteConnection:
            return await _SqliteConnection.open(path)

        engine = create_async_engine(url, async_creator=connect, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            for pragma in (
                "journal_mode=WAL",
                "synchronous=NORMAL",
                "foreign_keys=ON",
                "busy_timeout=30000",
            ):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.connection.driver_connection.begin_immediate()

        return engine
    # No pool_pre_ping: it costs a round trip per unit of work; recycle stale connections.
    return create_async_engine(url, pool_recycle=1800, **kwargs)


def _execute(db: sqlite3.Connection, begin: bool, sql: str, params: Any, many: bool) -> _Result:
    if begin:
        db.execute("BEGIN IMMEDIATE")
    cursor = db.executemany(sql, params) if many else db.execute(sql, params)
    try:
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


class _Worker:
    """One thread that owns a sqlite3 connection and runs calls on it in order. Leaner than an
    executor: a trip is a queue put and one call_soon_threadsafe back."""

    def __init__(self) -> None:
        self._calls: SimpleQueue[tuple[asyncio.Future[Any], Callable[[], Any]] | None] = (
            SimpleQueue()
        )
        self._thread = threading.Thread(target=self._serve, name="sqlite", daemon=True)
        self._thread.start()

    def run(self, call: Callable[[], T]) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._calls.put((future, call))
        return future

    def stop(self) -> None:
        self._calls.put(None)

    def _serve(self) -> None:
        while (item := self._calls.get()) is not None:
            future, call = item
            try:
                result = call()
            except BaseException as error:  # handed to the awaiting task
                future.get_loop().call_soon_threadsafe(_settle, future, None, error)
            else:
                future.get_loop().call_soon_threadsafe(_settle, future, result, None)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():  # the caller gave up waiting; the call ran anyway
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class _SqliteConnection:
    """The part of aiosqlite's Connection that SQLAlchemy's aiosqlite dialect uses, over a
    sqlite3 connection owned by one worker thread. Opened in autocommit mode
    (isolation_level None): transactions are our BEGIN IMMEDIATE and SQLAlchemy's COMMIT."""

    def __init__(self, db: sqlite3.Connection, worker: _Worker) -> None:
        self._db: sqlite3.Connection | None = db
        self._worker = worker
        self._begin = False  # BEGIN IMMEDIATE is due: it rides along with the next statement

    @classmethod
    async def open(cls, path: str) -> _SqliteConnection:
        worker = _Worker()
        try:
            db = await worker.run(
                lambda: sqlite3.connect(
                    path, timeout=30, isolation_level=None, check_same_thread=False
                )
            )
        except BaseException:
            worker.stop()
            raise
        return cls(db, worker)

    async def _run(self, call: Callable[[], T]) -> T:
        self._require()
        return await self._worker.run(call)

    @property
    def _connection(self) -> sqlite3.Connection | None:  # SQLAlchemy checks it before commit
        return self._db

    @property
    def isolation_level(self) -> str | None:
        return None

    def cursor(self) -> _SqliteCursor:
        return _SqliteCursor(self)

    def begin_immediate(self) -> None:
        """Start a write transaction with the next statement, in the same trip to the thread
        (a failed BEGIN surfaces there); a transaction with no statement costs no trip."""
        self._begin = True

    async def execute_statement(self, sql: str, params: Any, many: bool) -> _Result:
        db, (begin, self._begin) = self._require(), (self._begin, False)
        return await self._worker.run(lambda: _execute(db, begin, sql, params, many))

    async def commit(self) -> None:
        await self._end(self._require().commit)

    async def rollback(self) -> None:
        await self._end(self._require().rollback)

    async def _end(self, end: Callable[[], None]) -> None:
        # Only a transaction that ran a statement needs the thread (the pool's reset-on-return
        # rollback after every unit of work usually has nothing to do). The worker is idle
        # between awaited calls, so reading its connection's state here is safe.
        self._begin = False
        if self._require().in_transaction:
            await self._worker.run(end)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        db = self._require()
        await self._worker.run(lambda: db.create_function(*args, **kwargs))

    async def close(self) -> None:
        if self._db is None:
            return
        db, self._db = self._db, None
        try:
            await self._worker.run(db.close)
        finally:
            self._worker.stop()

    def stop(self) -> None:
        """Forced close (a connection garbage-collected outside the event loop)."""
        db, self._db = self._db, None
        if db is not None:
            self._worker.stop()

    def _require(self) -> sqlite3.Connection:
        if self._db is None:
            raise ValueError("no active connection")
        return self._db


class _SqliteCursor:
    """aiosqlite's Cursor, with the rows already fetched by `execute`."""

    arraysize = 1

    def __init__(self, connection: _SqliteConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: list[Any] = []

    async def __aenter__(self) -> _SqliteCursor:
        return self

    async def __aexit__(self, *_: Any) -> None:
        await self.close()

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> _SqliteCursor:
        result = await self._connection.execute_statement(sql, params, False)
        self.description, self.rowcount, self.lastrowid, self._rows = result
        return self

    async def executemany(self, sql: str, params: Sequence[Any]) -> _SqliteCursor:
        result = await self._connection.execute_statement(sql, params, True)
        self.description, self.rowcount, self.lastrowid, self._rows = result
        return self

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def __aiter__(self) -> _SqliteCursor:
        return self

    async def __anext__(self) -> Any:
        if not self._rows:
            raise StopAsyncIteration
        return self._rows.pop(0)

    async def close(self) -> None:
        self._rows = []
class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: commits when the block ends cleanly, rolls back otherwise."""
        async with self.sessions() as session, session.begin():
            yield session

    async def create_all(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def dispose(self) -> None:
        await self.engine.dispose()


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def insert_ignore(session: AsyncSession, table: Any, values: Any) -> Insert:
    """INSERT .. ON CONFLICT DO NOTHING for the session's dialect: duplicates vanish quietly."""
    return insert_ignore_into(dialect_of(session), table).values(values)


def insert_ignore_into(dialect: str, table: Any) -> Insert:
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(table).on_conflict_do_nothing()


def params(table: Table, *names: str) -> dict[str, BindParameter[Any]]:
    """Bound parameters named and typed like these columns: `.values(**params(t, "a", "b"))`."""
    return {name: bindparam(name, type_=table.c[name].type) for name in names}


def prepared(session: AsyncSession, build: Callable[[str], S]) -> S:
    """The statement `build(dialect)` makes, built once per dialect and then reused with bound
    parameters. Hot paths use it: a reused statement keeps its memoized cache key, which is
    most of the Python cost of running a small statement."""
    key = (build, dialect_of(session))
    statement = _prepared.get(key)
    if statement is None:
        statement = _prepared[key] = build(key[1])
    return cast(S, statement)


_prepared: dict[tuple[Callable[[str], Any], str], Any] = {}


def attach(session: AsyncSession, model: type[M], values: Mapping[str, Any]) -> M:
    """The session's `model` instance for a row read with Core (all its columns, by column
    name): the one the session already holds, else one made from the row and attached as if
    an ORM query had loaded it, so changes to it are still flushed. Much cheaper than an ORM
    query for the rows a command then uses."""
    held = session.identity_map.get(identity_key(model, values["id"]))
    if held is not None:
        return cast(M, held)
    instance = model(**values)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance
