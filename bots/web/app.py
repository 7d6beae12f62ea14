"""The web companion: an aiohttp application (pages, login, Mini App sign-in) added to the
Telegram webhook's server or served alone (`habitbot console`, or `run` without a webhook).

It is an adapter: who is asking comes from bots/web/auth.py, what is shown and done from core
use cases (check_in and undo, as /done and /undo call them), rendered by Jinja2 templates.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bots.commands import Deps
from bots.web import auth, pages

log = logging.getLogger("habitbot.web")

HERE = Path(__file__).parent
# Scripts and styles from this server only; no inline script; Telegram's web client may frame
# the Mini App. Pictures are inline SVG (no image loads at all).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'self' https://web.telegram.org"
)


@dataclass(frozen=True)
class WebConfig:
    deps: Deps
    key: bytes  # signs sessions and CSRF tokens (derived from the bot's secret)
    telegram_token: str | None  # checks Mini App initData; None: Mini App sign-in is off
    secure_cookies: bool  # https: the session cookie is Secure


CONFIG = web.AppKey("habitbot_web", WebConfig)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:  # redirects and plain refusals carry them too
        _secure(error.headers)
        raise
    _secure(response.headers)
    return response


def _secure(headers: MutableMapping[str, str]) -> None:
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"  # a login link's token stays here


def setup_web(
    app: web.Application,
    deps: Deps,
    *,
    telegram_token: str | None = None,
    secure_cookies: bool | None = None,
) -> web.Application:
    """Add the companion's routes to `app` (the webhook's application, or a new one)."""
    base = deps.web_url or ""
    secure = base.startswith("https://") if secure_cookies is None else secure_cookies
    app[CONFIG] = WebConfig(deps, auth.derive(deps.button_key, "web"), telegram_token, secure)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    app.middlewares.append(security_headers)
    pages.add_routes(app)
    app.router.add_static("/static/", HERE / "static", append_version=True)
    return app


def web_app(deps: Deps, **options: object) -> web.Application:
    return setup_web(web.Application(), deps, **options)  # type: ignore[arg-type]


async def serve_web(app: web.Application, host: str, port: int, url: str) -> None:
    """Serve until cancelled."""
    import asyncio

    runner = web.AppRunner(app, access_log=None)  # page URLs may carry a login token
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        log.info("Web companion on %s (listening on %s:%s)", url, host, port)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
