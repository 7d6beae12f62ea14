"""/app on each platform, the way the platform drives it, then the page it opens: Telegram
(aiogram + the Bot API emulator) answers with a Mini App button and sets the menu button, and
the Mini App's initData signs the same person in; Discord (real interaction payloads) and the
console answer with a single-use login link."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from bots.commands import Deps
from bots.console.repl import Console
from bots.discord.app import HabitbotDiscord
from bots.telegram.app import TelegramBot
from core.clock import FakeClock
from core.storage.db import Database
from tests.adapters.test_telegram_adapter import BOT, GROUP, Harness, buttons
from tests.emulators.discord_harness import DiscordHarness
from tests.emulators.telegram_api import TelegramEmulator
from tests.web.harness import BASE, client_for, init_data


@pytest.fixture
async def emu() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator(bot_username=BOT) as e:
        yield e


async def test_telegram_app_opens_the_mini_app_and_signs_in_the_same_person(
    emu: TelegramEmulator, db: Database, clock: FakeClock
) -> None:
    deps = Deps(db, clock, web_url=BASE)
    tg = TelegramBot(deps, emu.token, emu.base_url)
    try:
        await tg.publish_menu_button()
        menu = emu.menu_buttons[""]
        assert menu["type"] == "web_app" and menu["web_app"]["url"] == f"{BASE}/tg"

        h = Harness(emu, tg)
        ann = emu.user(1001, "Ann")
        await h.say(ann, "/habit add Read every=day")
        [answer] = await h.say(ann, "/app")
        [button] = buttons(answer)
        assert button["web_app"] == {"url": f"{BASE}/tg"} and "callback_data" not in button
        assert "logs you in once" in answer["text"]
        # Asked in a group, the answer goes to the private chat (a Mini App button needs one).
        await h.say(ann, "/start")
        [private] = [m for m in await h.say(ann, "/app", chat=GROUP) if m["chat_id"] == 1001]
        assert buttons(private)[0]["web_app"]["url"] == f"{BASE}/tg"

        async with client_for(deps, telegram_token=emu.token) as client:
            signed = init_data(1001, "Ann", now=clock.now().timestamp(), token=emu.token)
            response = await client.post("/auth/telegram", data={"init_data": signed})
            assert response.status == 200
            today = await (await client.get("/")).text()
            assert "Read" in today and 'aria-label="Check in Read"' in today
    finally:
        await tg.close()


async def test_telegram_without_https_gets_a_login_link_and_no_menu_button(
    emu: TelegramEmulator, db: Database, clock: FakeClock
) -> None:
    deps = Deps(db, clock, web_url="http://127.0.0.1:8099")
    tg = TelegramBot(deps, emu.token, emu.base_url)
    try:
        await tg.publish_menu_button()
        assert emu.menu_buttons == {}
        [answer] = await Harness(emu, tg).say(emu.user(1001, "Ann"), "/app")
        [button] = buttons(answer)
        assert button["url"].startswith("http://127.0.0.1:8099/login?t=")
    finally:
        await tg.close()


@pytest.fixture
def web_deps(db: Database, clock: FakeClock) -> Deps:
    return Deps(db, clock, web_url=BASE)


@pytest.fixture
async def discord(web_deps: Deps) -> AsyncIterator[DiscordHarness]:
    harness = DiscordHarness(HabitbotDiscord(web_deps))
    await harness.start()
    harness.add_guild(5000, "Runners", owner_id=1, channel_ids=[5001])
    yield harness
    await harness.close()


async def test_discord_app_answers_a_link_button_that_logs_in_once(
    discord: DiscordHarness, web_deps: Deps
) -> None:
    alice = discord.user(42, "alice")
    await discord.slash(alice, "habit add", {"name": "Read", "every": "day"})
    seen = await discord.slash(alice, "app", guild_id=5000, channel_id=5001)
    assert not seen.errors, seen.errors
    assert seen.response is not None and seen.response["flags"] & 64  # ephemeral in a server
    [link] = [c for row in seen.response["components"] for c in row["components"]]
    assert link["style"] == 5 and "custom_id" not in link  # a link button
    url = urlsplit(link["url"])
    assert f"{url.scheme}://{url.netloc}" == BASE and url.path == "/login"
    async with client_for(web_deps) as client:
        page = await (await client.get(f"/login?{url.query}")).text()
        assert "Read" in page
        client.session.cookie_jar.clear()
        assert (await client.get(f"/login?{url.query}")).status == 401


async def test_console_app_prints_the_link(db: Database, clock: FakeClock) -> None:
    out = io.StringIO()
    console = Console(Deps(db, clock, web_url="http://127.0.0.1:8099"), clock, out=out)
    assert await console.handle("/app")
    printed = out.getvalue()
    assert "🌐 Open Habitbot: http://127.0.0.1:8099/login?t=" in printed
    assert "[1]" not in printed  # a link is opened, not pressed by number


async def test_app_says_so_when_the_companion_is_off(db: Database, clock: FakeClock) -> None:
    out = io.StringIO()
    console = Console(Deps(db, clock), clock, out=out)
    await console.handle("/app")
    assert "The web companion is not switched on for this bot." in out.getvalue()


async def test_one_server_serves_the_webhook_and_the_pages(
    emu: TelegramEmulator, db: Database, clock: FakeClock
) -> None:
    """`habitbot run` with WEBHOOK_URL: the companion's routes join the webhook's app."""
    from aiohttp.test_utils import TestClient, TestServer

    from bots.telegram.webhook import webhook_app
    from bots.web.app import web_app

    deps = Deps(db, clock, web_url=BASE)
    tg = TelegramBot(deps, emu.token, emu.base_url)
    try:
        app = webhook_app(tg.intake, "/tg/hook", "s3cret", web_app(deps, telegram_token=emu.token))
        ann = emu.user(9101, "Ann")
        async with TestClient(TestServer(app)) as client:
            hook = await client.post(
                "/tg/hook", json=emu.send_text(ann, "/app"),
                headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"},
            )
            assert hook.status == 200
            answer = await emu.wait_for(lambda r: r["chat_id"] == 9101, timeout=5)
            assert buttons(answer)[0]["web_app"]["url"] == f"{BASE}/tg"
            assert (await client.post("/tg/hook", json={})).status == 401
            page = await client.get("/tg")
            assert page.status == 200 and "Signing you in" in await page.text()
    finally:
        await tg.close()


def test_settings_say_where_the_companion_is() -> None:
    from habitbot.settings import Settings

    assert Settings(_env_file=None).web_url() is None
    assert Settings(_env_file=None, web_port=8099).web_url(console=True) == "http://127.0.0.1:8099"
    assert Settings(_env_file=None, web_port=8099).web_url() is None
    on = Settings(_env_file=None, web_base_url="https://hb.example/")
    assert on.web_url() == on.web_url(console=True) == "https://hb.example"
