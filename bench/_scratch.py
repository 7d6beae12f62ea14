"""A scratch database for a benchmark: SQLite in a temp dir, or TEST_DATABASE_URL reset."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from tempfile import TemporaryDirectory

from sqlalchemy import text

from core.storage.db import Database
from core.storage.migrate import upgrade


def database_name() -> str:
    return "PostgreSQL" if os.environ.get("TEST_DATABASE_URL") else "SQLite"


@asynccontextmanager
async def scratch_database() -> AsyncIterator[Database]:
    """A migrated, empty database. On PostgreSQL the benchmark owns TEST_DATABASE_URL's
    database: its public schema is dropped and made again."""
    url = os.environ.get("TEST_DATABASE_URL")
    with TemporaryDirectory() as tmp:
        db = Database(url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3")
        if url:
            async with db.engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(db.engine)
        try:
            yield db
        finally:
            await db.dispose()
