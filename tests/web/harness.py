"""Driving the web companion as a browser would: aiohttp's test client on the real app, with
users made and logged in through the bot's own /app command (console users)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bots.commands import Deps
from bots.reply import Reply
from bots.web.app import web_app
from bots.web.auth import sign_init_data
from tests.conftest import Say

BASE = "https://habitbot.example"
TG_TOKEN = "123456:TEST-token-for-web"


def link_of(reply: Reply) -> str:
    [button] = [b for row in reply.buttons for b in row if b.url]
    assert button.url is not None
    return button.url


def token_of(reply: Reply) -> str:
    return parse_qs(urlsplit(link_of(reply)).query)["t"][0]


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def init_data(user_id: int, first_name: str, age: timedelta = timedelta(0),
              username: str | None = None, now: float | None = None,
              token: str = TG_TOKEN) -> str:
    user = {"id": user_id, "first_name": first_name}
    if username:
        user["username"] = username
    stamp = int((now if now is not None else time.time()) - age.total_seconds())
    fields = {"auth_date": str(stamp), "query_id": f"q{user_id}{stamp}",
              "user": json.dumps(user, separators=(",", ":"))}
    return sign_init_data(fields, token)


@asynccontextmanager
async def client_for(
    deps: Deps, telegram_token: str = TG_TOKEN
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web_app(deps, telegram_token=telegram_token, secure_cookies=False)
    async with TestClient(TestServer(app)) as client:
        yield client


async def log_in(say: Say, client: TestClient[web.Request, web.Application], user: str) -> str:
    """/app as `user` in the console, then open its link in a fresh cookie jar; the Today
    page's text is returned."""
    reply = await say("/app", user=user)
    assert not reply.error, reply.plain()
    client.session.cookie_jar.clear()
    response = await client.get(f"/login?t={token_of(reply)}")
    assert response.status == 200, await response.text()
    assert str(response.url).endswith("/")
    return await response.text()
