"""Shared fixtures: a migrated database (SQLite always; PostgreSQL when TEST_DATABASE_URL is
set), a fake clock, and `say`, which talks to the bot the way the console does."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bots.commands import Chat, Deps, Invocation, execute
from bots.reply import Reply
from core.clock import FakeClock
from core.storage.cipher import Cipher, install
from core.storage.db import Database
from core.storage.migrate import upgrade
from core.storage.models import Base

PG_URL = os.environ.get("TEST_DATABASE_URL")
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (embedded)'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "habitbot.sqlite3"

    async def build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(db.engine)
        await db.dispose()

    asyncio.run(build())
    return path


@pytest.fixture(scope="session")
def pg_schema() -> bool:
    if not PG_URL:
        return False

    async def build() -> None:
        db = Database(PG_URL)
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(db.engine)
        await db.dispose()

    asyncio.run(build())
    return True


@pytest.fixture
async def db(tmp_path: Path, sqlite_template: Path, pg_schema: bool) -> AsyncIterator[Database]:
    if pg_schema and PG_URL:
        database = Database(PG_URL)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        async with database.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    else:
        path = tmp_path / "habitbot.sqlite3"
        shutil.copy(sqlite_template, path)
        database = Database(f"sqlite+aiosqlite:///{path}")
    yield database
    await database.dispose()


# The key tests encrypt messages with (the app installs one from SECRET_KEYS at start-up).
TEST_KEY = Cipher.new_key()


@pytest.fixture(autouse=True, scope="session")
def message_cipher() -> Cipher:
    return install(Cipher([TEST_KEY]))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def deps(db: Database, clock: FakeClock) -> Deps:
    return Deps(db, clock)


class Say:
    """Send a command as a console user: `await say("/done Read", user="ann")`."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def __call__(
        self,
        text: str,
        user: str = "ann",
        group: str | None = None,
        admin: bool = False,
        platform: str = "console",
        button: Reply | None = None,
    ) -> Reply:
        """With `button`, `text` is the pressed button's action text, as that reply's owner."""
        chat = Chat("group", group, title=group) if group else Chat("private", user)
        inv = Invocation(
            platform,
            user,
            user.capitalize(),
            chat,
            text=text,
            is_admin=admin,
            username=user,
            button=button is not None,
            button_owner=button.owner if button is not None else None,
        )
        return await execute(self.deps, inv)

    async def press(self, reply: Reply, label: str = "", **kwargs: object) -> Reply:
        """Press the first button whose label contains `label`, as a platform would."""
        for row in reply.buttons:
            for b in row:
                if label in b.label:
                    text = f"/{b.action.command} {b.action.args}".strip()
                    return await self(text, button=reply, **kwargs)  # type: ignore[arg-type]
        labels = [b.label for row in reply.buttons for b in row]
        raise AssertionError(f"no button {label!r} in {labels}")

    async def confirmed(self, text: str, **kwargs: object) -> Reply:
        """Send a destructive command and press its confirm button (the first one)."""
        asked = await self(text, **kwargs)  # type: ignore[arg-type]
        if asked.error or not asked.buttons:
            return asked
        return await self.press(asked, **kwargs)

    async def text(self, *args: object, **kwargs: object) -> str:
        return (await self(*args, **kwargs)).plain()  # type: ignore[arg-type]


@pytest.fixture
def say(deps: Deps) -> Say:
    return Say(deps)
