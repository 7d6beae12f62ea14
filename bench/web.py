"""How long the web companion's pages take on the server: Today and a profile for someone with
a year of history (3 daily habits, 365 days), and pages of a 10,000-participant board (the
challenge of bench/leaderboard.py: 30 days x 2 habits).

Requests go through aiohttp's test server on 127.0.0.1, logged in by a real login link; the
figure is the server's own time per request (a middleware times the handler: the query, the
SVG charts, the template), median and max over --runs requests each.
SQLite by default; PostgreSQL when TEST_DATABASE_URL is set.
Usage: python bench/web.py [--participants N] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from _scratch import database_name, scratch_database
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from leaderboard import build
from sqlalchemy import insert

from bots.commands import Deps
from bots.web.app import web_app
from core.clock import FakeClock
from core.storage.models import CheckIn, Habit
from core.users.web_login import issue_login, new_login_token

NOW = datetime(2026, 3, 30, 18, tzinfo=UTC)
YEAR_HABITS = ("Journal", "Walk", "Meditate")  # a year each, besides Read, Run and Solo


async def year_of_history(deps: Deps, user_id: int, first_id: int) -> None:
    today = NOW.date()
    async with deps.db.session() as s:
        await s.execute(
            insert(Habit),
            [
                dict(id=first_id + k, user_id=user_id, name=n, name_key=n.lower(), kind="build",
                     schedule="day", start_date=today - timedelta(days=365), created_at=NOW,
                     public=True)
                for k, n in enumerate(YEAR_HABITS)
            ],
        )
        days = [today - timedelta(days=d) for d in range(1, 366)]
        await s.execute(
            insert(CheckIn),
            [
                dict(habit_id=first_id + k, local_date=day, created_at=NOW)
                for k in range(len(YEAR_HABITS))
                for i, day in enumerate(days)
                if (i * (k + 3)) % 7 < 5  # most days, a pattern per habit
            ],
        )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    async with scratch_database() as db:
        t0 = time.perf_counter()
        await build(db, args.participants)
        me = args.participants // 2
        deps = Deps(db, FakeClock(NOW), web_url="http://127.0.0.1")
        await year_of_history(deps, me, args.participants * 3 + 1)
        built = time.perf_counter() - t0

        timings: list[float] = []
        Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

        @web.middleware
        async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
            t = time.perf_counter()
            try:
                return await handler(request)
            finally:
                timings.append(time.perf_counter() - t)

        app = web_app(deps, secure_cookies=False)
        app.middlewares.insert(0, timed)
        async with TestClient(TestServer(app)) as client:
            token, nonce = new_login_token(deps.button_key)
            async with db.session() as s:
                await issue_login(s, me, None, nonce, NOW)
            assert (await client.get(f"/login?t={token}")).status == 200

            async def measure(path: str, must: str) -> tuple[float, float, int]:
                first = await client.get(path)
                body = await first.text()
                assert first.status == 200 and must in body, (path, body[:500])
                timings.clear()
                for _ in range(args.runs):
                    response = await client.get(path)
                    await response.read()
                return statistics.median(timings), max(timings), len(body)

            pages = args.participants // 10
            for path in ("/", f"/u/u{me}", "/c/1", "/c/1?page=me", "/s/c/1"):
                await (await client.get(path)).read()  # warm: each page once before timing
            results = {
                "Today (6 habits, 3 with a year of history)": await measure("/", "Meditate"),
                f"profile @u{me} (year matrices: all + 6 habits)": await measure(
                    f"/u/u{me}", "activity matrix"
                ),
                f"board page 1 of {pages}": await measure("/c/1", "Page 1 of"),
                f"board page {pages // 2} of {pages}": await measure(
                    f"/c/1?page={pages // 2}", f"Page {pages // 2} of"
                ),
                "board around me": await measure("/c/1?page=me", "you are here"),
                "public share page 1": await measure("/s/c/1", "@u"),
            }
            # A check-in from the page (POST, then the redirect's Today).
            page = await (await client.get("/")).text()
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf is not None
            timings.clear()
            response = await client.post(
                "/done", data={"csrf": csrf.group(1), "habit": args.participants * 3 + 1},
                allow_redirects=False,
            )
            assert response.status == 303, await response.text()
            post = timings[-1]
    name = database_name()
    print(f"web {name}: {args.participants} participants x 30 days x 2 habits, one person with "
          f"a year of 3 more habits (built in {built:.1f} s); server time per request over "
          f"{args.runs} requests:")
    for label, (median, worst, size) in results.items():
        print(f"web {name}: {label}: median {ms(median)}, max {ms(worst)} ({size // 1024} KiB)")
    print(f"web {name}: a check-in from Today (POST /done): {ms(post)}")


if __name__ == "__main__":
    asyncio.run(main())
