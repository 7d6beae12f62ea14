from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bots.commands import Deps
from core.clock import FakeClock
from core.storage.db import Database
from tests.conftest import Say
from tests.web.harness import BASE, client_for


@pytest.fixture
def deps(db: Database, clock: FakeClock) -> Deps:
    return Deps(db, clock, web_url=BASE)


@pytest.fixture
def say(deps: Deps) -> Say:
    return Say(deps)


@pytest.fixture
async def client(deps: Deps) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with client_for(deps) as c:
        yield c
