"""Engine, sessions and the unit of work (SQLite's own engine is in core/storage/sqlite.py)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

from sqlalchemy import BindParameter, Table, bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.dml import Insert

from core.errors import Busy
from core.storage.models import Base
from core.storage.sqlite import create_sqlite_engine, is_busy

S = TypeVar("S")
log = logging.getLogger("habitbot.storage")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        return create_sqlite_engine(url, **kwargs)
    # No pool_pre_ping: it costs a round trip per unit of work; recycle stale connections.
    return create_async_engine(url, pool_recycle=1800, **kwargs)


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
        """A unit of work: commits when the block ends cleanly, rolls back otherwise.
        Raises Busy when SQLite's write lock stayed with another process too long."""
        try:
            async with self.sessions() as session, session.begin():
                yield session
        except Exception as error:
            if not is_busy(error):
                raise
            log.warning("another process held the database write lock too long: answered busy")
            raise Busy() from error

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
