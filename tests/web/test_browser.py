"""A real browser on the web companion: Debian's headless Chromium driven by Playwright, at
phone width. Open Today from a login link, tap a check-in and see the streak change, undo it,
open a challenge board and page it. Screenshots go to test-output/web/ (gitignored).

Skipped only on a machine without /usr/bin/chromium that is not CI: CI installs it (.ci/run),
and there a missing browser fails the test rather than hiding it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bots.commands import Deps
from bots.web.app import web_app
from core.clock import FakeClock
from core.storage.db import Database
from tests.conftest import Say
from tests.web.harness import link_of

CHROMIUM = Path("/usr/bin/chromium")
OUT = Path(__file__).resolve().parents[2] / "test-output" / "web"
PHONE = {"width": 390, "height": 844}

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip("no /usr/bin/chromium here (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
async def site(db: Database, clock: FakeClock) -> AsyncIterator[tuple[Deps, str]]:
    deps = Deps(db, clock)
    runner = web.AppRunner(web_app(deps, secure_cookies=False))
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    host, port = runner.addresses[0][:2]
    deps.web_url = f"http://{host}:{port}"
    yield deps, deps.web_url
    await runner.cleanup()


async def test_today_check_in_and_a_paged_board_in_chromium(site: tuple[Deps, str]) -> None:
    from playwright.async_api import async_playwright, expect

    deps, base = site
    say = Say(deps)
    await say("/start", user="boss", group="gym", admin=True)
    await say("/challenge new Walk Month days=30 habits=Walk", user="boss", group="gym",
              admin=True)
    for i in range(24):  # three pages of ten
        await say("/join 1", user=f"p{i:02d}")
        if i % 2:
            await say("/done Walk", user=f"p{i:02d}")
    await say("/join 1", user="ann")
    await say("/habit add Read every=day", user="ann")
    link = link_of(await say("/app", user="ann"))
    OUT.mkdir(parents=True, exist_ok=True)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            page = await browser.new_page(
                viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
            )
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await page.goto(link)
            await expect(page.get_by_role("heading", level=1)).to_contain_text("Today")
            read = page.locator("li.habit", has=page.locator(".name", has_text="Read"))
            await expect(read.locator("[data-streak]")).to_have_text("🔥 0 days")
            await page.screenshot(path=str(OUT / "today-before.png"), full_page=True)

            await page.get_by_role("button", name="Check in Read").tap()
            await expect(page.get_by_role("status")).to_contain_text("✅ Read: streak 1 day")
            await expect(read.locator("[data-streak]")).to_have_text("🔥 1 day")
            await expect(page.locator("#done-count")).to_have_text("1/2")
            await page.screenshot(path=str(OUT / "today-after.png"), full_page=True)

            await page.get_by_role("button", name="Undo Read for today").tap()
            await expect(read.locator("[data-streak]")).to_have_text("🔥 0 days")

            await page.goto(f"{base}/c/1")
            await expect(page.locator("#page-label")).to_have_text("Page 1 of 3")
            await page.screenshot(path=str(OUT / "board-1.png"), full_page=True)
            await page.get_by_role("link", name="Next ➡").tap()
            await expect(page.locator("#page-label")).to_have_text("Page 2 of 3")
            await page.get_by_role("link", name="📍 Around me").tap()
            await expect(page.locator("tr.me")).to_contain_text("you are here")
            await page.screenshot(path=str(OUT / "board-me.png"), full_page=True)

            await page.goto(f"{base}/me")
            await expect(page.locator("svg.chart").first).to_be_visible()
            await page.screenshot(path=str(OUT / "profile.png"), full_page=True)
            # Nothing the page loads breaks the CSP, and its script runs without errors.
            assert not errors, errors
        finally:
            await browser.close()
