"""Alembic migrations from an empty database give exactly the models' schema, on SQLite and (when
TEST_DATABASE_URL is set) on PostgreSQL, in a throwaway schema so other tests are untouched."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from core.storage.db import Database
from core.storage.migrate import upgrade
from core.storage.models import Base

PG_URL = os.environ.get("TEST_DATABASE_URL")
# SQLite cannot reflect an expression index (users' lower(handle)); PostgreSQL compares it.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based"),
]


@pytest.fixture
async def empty_db(tmp_path: Path) -> AsyncIterator[Database]:
    if not PG_URL:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}")
        yield database
        await database.dispose()
        return
    schema = f"migrations_{secrets.token_hex(4)}"
    admin = Database(PG_URL)
    async with admin.engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    # Everything this engine creates or inspects lands in the throwaway schema.
    database = Database(PG_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        yield database
    finally:
        await database.dispose()
        async with admin.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


def _diffs(sync_conn: Any) -> list[Any]:
    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def test_upgrade_from_empty_matches_the_models(empty_db: Database) -> None:
    async with empty_db.engine.connect() as conn:
        assert await conn.run_sync(lambda c: inspect(c).get_table_names()) == []
    await upgrade(empty_db.engine)
    async with empty_db.engine.connect() as conn:
        tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        diffs = await conn.run_sync(_diffs)
    assert tables == {t.name for t in Base.metadata.sorted_tables} | {"alembic_version"}
    assert diffs == []


async def test_upgrade_twice_is_a_no_op(empty_db: Database) -> None:
    await upgrade(empty_db.engine)
    await upgrade(empty_db.engine)
    async with empty_db.engine.connect() as conn:
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
        diffs = await conn.run_sync(_diffs)
    assert len(versions) == 1
    assert diffs == []


async def test_upgraded_database_enforces_foreign_keys_and_uniques(empty_db: Database) -> None:
    await upgrade(empty_db.engine)
    async with empty_db.engine.connect() as conn:
        checkins = await conn.run_sync(lambda c: inspect(c).get_unique_constraints("checkins"))
        fks = await conn.run_sync(lambda c: inspect(c).get_foreign_keys("checkins"))
    assert any(set(u["column_names"]) == {"habit_id", "local_date"} for u in checkins)
    assert any(fk["referred_table"] == "habits" for fk in fks)
