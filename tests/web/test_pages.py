"""The web companion through aiohttp's test client: every page, each way in (login link,
Telegram initData: good, forged, stale, replayed), CSRF, privacy, and a check-in from the page
changing the same rows as /done (SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import re
from datetime import timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from core.clock import FakeClock
from core.storage.db import Database
from core.storage.models import Badge, CheckIn, Habit, LedgerEntry, Participant, User, WebToken
from tests.conftest import Say
from tests.web.harness import TG_TOKEN, csrf_of, init_data, log_in, token_of

Client = TestClient[web.Request, web.Application]
DAY = timedelta(days=1)


async def habit_id(db: Database, user: str, name: str) -> int:
    async with db.session() as session:
        found = await session.scalar(
            select(Habit.id).join(User, User.id == Habit.user_id)
            .where(User.handle == user, Habit.name == name)
        )
    assert found is not None
    return found


async def tap(client: Client, action: str, habit: int) -> str:
    """Press a habit's Done/Undo button as the browser does: the form with its CSRF token."""
    page = await (await client.get("/")).text()
    response = await client.post(f"/{action}", data={"csrf": csrf_of(page), "habit": habit})
    assert response.status == 200
    return await response.text()


# ------------------------------------------------------------------ login links
async def test_a_login_link_works_once_and_then_a_cookie_keeps_you_in(
    say: Say, client: Client, clock: FakeClock
) -> None:
    await say("/habit add Read every=day", user="ann")
    reply = await say("/app", user="ann")
    assert "logs you in once (valid 15 minutes)" in reply.plain()
    token = token_of(reply)
    first = await client.get(f"/login?t={token}", allow_redirects=False)
    assert first.status == 303 and first.headers["Location"] == "/"
    cookie = first.cookies["hb_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    today = await client.get("/")
    assert today.status == 200 and "Read" in await today.text()
    clock.advance(timedelta(days=2))
    assert (await client.get("/")).status == 200  # the session outlives the link

    client.session.cookie_jar.clear()
    again = await client.get(f"/login?t={token}")
    assert again.status == 401 and "used already" in await again.text()
    assert (await client.get("/")).status == 401


async def test_expired_forged_and_truncated_links_are_refused(
    say: Say, client: Client, clock: FakeClock
) -> None:
    token = token_of(await say("/app", user="ann"))
    nonce, _, mac = token.partition(".")

    def other(char: str) -> str:  # a different last character, whatever it was
        return "x" if char != "x" else "y"

    forged = f"{nonce}.{mac[:-1]}{other(mac[-1])}", f"{nonce[:-1]}{other(nonce[-1])}.{mac}"
    for bad in (*forged, nonce, "", "a.b.c"):
        assert (await client.get("/login", params={"t": bad})).status == 401
    clock.advance(timedelta(minutes=16))
    assert (await client.get(f"/login?t={token}")).status == 401
    assert (await client.get("/")).status == 401


async def test_login_links_are_rate_limited_per_person(say: Say, clock: FakeClock) -> None:
    for _ in range(5):
        assert not (await say("/app", user="ann")).error
    refused = await say("/app", user="ann")
    assert refused.error and "5 login links in 10 minutes" in refused.plain()
    assert not (await say("/app", user="bob")).error  # per person
    clock.advance(timedelta(minutes=11))
    assert not (await say("/app", user="ann")).error


async def test_a_forged_session_cookie_is_not_a_login(say: Say, client: Client) -> None:
    await log_in(say, client, "ann")
    value = client.session.cookie_jar.filter_cookies(client.make_url("/"))["hb_session"].value
    user, expires, sid, mac = value.split(".")
    client.session.cookie_jar.clear()
    forged = f"{int(user) + 1}.{expires}.{sid}.{mac}"
    client.session.cookie_jar.update_cookies({"hb_session": forged})
    assert (await client.get("/")).status == 401


# ------------------------------------------------------------------ Telegram initData
async def test_telegram_init_data_good_forged_stale_and_replayed(
    client: Client, clock: FakeClock, db: Database
) -> None:
    now = clock.now().timestamp()
    good = init_data(1001, "Ann", username="ann_tg", now=now)
    response = await client.post("/auth/telegram", data={"init_data": good})
    assert response.status == 200 and (await response.json())["ok"]
    page = await (await client.get("/")).text()
    assert "No habits yet" in page  # a new user, made from the Telegram account
    async with db.session() as session:
        assert await session.scalar(select(User.handle)) == "ann_tg"

    client.session.cookie_jar.clear()
    replay = await client.post("/auth/telegram", data={"init_data": good})
    assert replay.status == 401 and (await replay.json())["error"] == "already used"

    forged = good.replace("Ann", "Eve")  # the same signature over other data
    assert (await client.post("/auth/telegram", data={"init_data": forged})).status == 401
    wrong_bot = init_data(1001, "Ann", now=now).replace("hash=", "hash=0")
    assert (await client.post("/auth/telegram", data={"init_data": wrong_bot})).status == 401
    stale = init_data(1001, "Ann", age=timedelta(hours=1, minutes=1), now=now)
    answer = await client.post("/auth/telegram", data={"init_data": stale})
    assert answer.status == 401 and (await answer.json())["error"] == "stale"
    nearly = init_data(1001, "Ann", age=timedelta(minutes=59), now=now)
    assert (await client.post("/auth/telegram", data={"init_data": nearly})).status == 200
    assert (await client.post("/auth/telegram", data={"init_data": ""})).status == 401
    assert (await client.get("/")).status == 200


async def test_init_data_signed_for_another_bot_is_refused(
    client: Client, clock: FakeClock
) -> None:
    from bots.web.auth import sign_init_data

    fields = {"auth_date": str(int(clock.now().timestamp())), "user": '{"id":5,"first_name":"X"}'}
    other = sign_init_data(fields, TG_TOKEN + "x")
    assert (await client.post("/auth/telegram", data={"init_data": other})).status == 401


async def test_the_mini_app_page_loads_its_script_under_a_strict_csp(client: Client) -> None:
    response = await client.get("/tg")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'self' https://web.telegram.org" in csp
    page = await response.text()
    assert '<script src="/static/app.js' in page and "<script>" not in page
    assert (await client.get("/static/app.js")).status == 200


# ------------------------------------------------------------------ Today
async def test_a_check_in_from_the_page_changes_the_same_rows_as_done(
    say: Say, client: Client, clock: FakeClock, db: Database
) -> None:
    """Ann taps Done on the page, Bob types /done, in the same challenge for three days: the
    same check-ins, coins, badge and standings, and undo takes back the same."""
    await say("/start", user="boss", group="gym", admin=True)
    await say("/challenge new Read Week days=7 habits=Read", user="boss", group="gym", admin=True)
    for who in ("ann", "bob"):
        assert "You joined" in (await say("/join 1", user=who, group="gym")).plain()
    await log_in(say, client, "ann")
    read = await habit_id(db, "ann", "Read")
    for day in range(3):
        page = await tap(client, "done", read)
        await say("/done Read", user="bob")
        assert f"🔥 {day + 1} day" in page
        if day < 2:
            clock.advance(DAY)
    assert "🏅 New badge: 3-day streak" in page or "3-day" in page, page

    async def rows(handle: str) -> dict[str, object]:
        async with db.session() as session:
            uid = await session.scalar(select(User.id).where(User.handle == handle))
            return {
                "checkins": sorted(
                    (d.isoformat(), a) for d, a in await session.execute(
                        select(CheckIn.local_date, CheckIn.amount)
                        .join(Habit, Habit.id == CheckIn.habit_id).where(Habit.user_id == uid)
                    )
                ),
                "ledger": sorted(
                    (c, a, r) for c, a, r in await session.execute(
                        select(LedgerEntry.currency, LedgerEntry.amount, LedgerEntry.reason)
                        .where(LedgerEntry.user_id == uid)
                    )
                ),
                "badges": sorted(await session.scalars(select(Badge.code).where(
                    Badge.user_id == uid))),
                "standing": (await session.execute(
                    select(Participant.completed).where(Participant.user_id == uid)
                )).scalar_one(),
            }

    ann, bob = await rows("ann"), await rows("bob")
    assert ann == bob and len(ann["checkins"]) == 3 and ann["standing"] == 3  # type: ignore[arg-type]
    assert ann["badges"], "the 3-day streak badge"

    again = await tap(client, "done", read)
    assert "already done today" in again
    undone = await tap(client, "undo", read)
    await say("/undo Read", user="bob")
    assert "↩️ Undid Read for today, −10 coins" in undone
    assert await rows("ann") == await rows("bob")


async def test_posts_without_the_csrf_token_change_nothing(
    say: Say, client: Client, db: Database
) -> None:
    await say("/habit add Read every=day", user="ann")
    await say("/habit add Run every=day", user="bob")
    await log_in(say, client, "ann")
    read = await habit_id(db, "ann", "Read")
    for data in ({"habit": read}, {"habit": read, "csrf": "x" * 32}):
        response = await client.post("/done", data=data)
        assert response.status == 403
    # Bob's habit from Ann's session: not hers, so nothing happens to it.
    page = await tap(client, "done", await habit_id(db, "bob", "Run"))
    assert "That habit no longer exists." in page  # as /done "#2" answers Ann
    bad = await client.post("/done", data={"csrf": csrf_of(page), "habit": "1 OR 1=1"})
    assert bad.status == 400
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(CheckIn)) == 0


async def test_today_lists_schedule_targets_and_plan_tasks(
    say: Say, client: Client, db: Database
) -> None:
    await say("/habit add Read every=day target=20 unit=pages", user="ann")
    await say("/habit add Gym every=sat", user="ann")  # Monday: not today
    await say("/done Read 5", user="ann")
    page = await log_in(say, client, "ann")
    assert "5/20 pages" in page and "not scheduled today" in page
    assert "0/1</span> done" in page
    assert page.count('action="/undo"') == 1  # Read has 5 pages to take back


# ------------------------------------------------------------------ profiles and privacy
async def test_profiles_show_what_privacy_allows(say: Say, client: Client) -> None:
    await say("/habit add Read every=day", user="ann")
    await say("/habit add Smoking kind=quit", user="ann")
    await say("/habit edit Read visibility=public", user="ann")
    await say("/done Read", user="ann")
    await say("/start", user="bob")
    await say("/start", user="cat")

    mine = await log_in(say, client, "ann")
    own = await (await client.get("/me")).text()
    assert "Smoking" in own and "Read" in own and "All habits: activity matrix" in own
    assert "<svg" in own and 'role="img"' in own

    await log_in(say, client, "bob")
    seen = await (await client.get("/u/ANN")).text()
    assert "Read" in seen and "Smoking" not in seen
    assert "All public habits: activity matrix, 1 day done" in seen

    await say("/settings profile=private", user="ann")
    hidden = await (await client.get("/u/ann")).text()
    assert "This profile is private." in hidden and "Read" not in hidden.split("<main")[1]

    await say("/block @bob", user="ann")
    assert (await client.get("/u/ann")).status == 404
    assert (await client.get("/u/nobody")).status == 404
    assert mine


async def test_user_text_is_escaped(say: Say, client: Client) -> None:
    await say('/habit add "<script>alert(1)</script>" every=day', user="ann")
    await say("/bio <img src=x onerror=alert(1)>", user="ann")
    page = await log_in(say, client, "ann")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    profile = await (await client.get("/me")).text()
    assert "<img src=x" not in profile and "&lt;img src=x" in profile


# ------------------------------------------------------------------ challenges
async def _board(say: Say, people: int, private: bool = False) -> None:
    await say("/start", user="boss", group="gym", admin=True)
    flag = " private" if private else ""
    made = await say(f"/challenge new Walk Month days=30 habits=Walk{flag}", user="boss",
                     group="gym", admin=True)
    found = re.search(r"Invite code: (\w+)", made.plain())
    ref = found.group(1) if found else "1"
    for i in range(people):
        name = f"p{i:02d}"
        reply = await say(f"/join {ref}", user=name)
        assert "You joined" in reply.plain(), reply.plain()
        if i % 3 == 0:
            await say("/done Walk", user=name)


async def test_a_board_pages_and_says_where_you_are(say: Say, client: Client) -> None:
    await _board(say, 25)
    await log_in(say, client, "p23")  # no check-in, joined late: listed last
    first = await (await client.get("/c/1")).text()
    assert "Page 1 of 3" in first and "25 taking part" in first
    assert "You are #" in first and "Around me" in first
    assert 'href="/c/1?page=2"' in first and "<svg" in first
    mine = await (await client.get("/c/1?page=me")).text()
    assert "← you are here" in mine and 'aria-current="true"' in mine
    last = await (await client.get("/c/1?page=99")).text()
    assert "Page 3 of 3" in last
    assert (await client.get("/c/1?page=-1")).status == 200
    assert (await client.get("/c/abc")).status == 404
    assert "public board link" in first


async def test_the_public_share_link_shows_handles_and_rates_only(
    say: Say, client: Client, db: Database
) -> None:
    await _board(say, 3)
    async with db.session() as session:
        for user in await session.scalars(select(User)):
            user.name = f"Secret {user.handle}"  # a display name the share must not show
    client.session.cookie_jar.clear()
    response = await client.get("/s/c/1")
    page = await response.text()
    assert response.status == 200 and "@p00" in page and "100%" in page
    assert "Secret" not in page and "Streak" not in page and "you are here" not in page
    assert "/logout" not in page


async def test_private_challenges_stay_private(say: Say, client: Client) -> None:
    await _board(say, 2, private=True)
    assert (await client.get("/s/c/1")).status == 404
    await say("/start", user="zed")
    await log_in(say, client, "zed")
    assert (await client.get("/c/1")).status == 404
    await log_in(say, client, "p00")
    member = await (await client.get("/c/1")).text()
    assert "Walk Month" in member and "public board link" not in member


async def test_pages_need_a_login_and_say_how(client: Client) -> None:
    for path in ("/", "/me", "/u/ann", "/c/1"):
        response = await client.get(path)
        assert response.status == 401
        assert "Send /app" in await response.text()
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]


async def test_a_deleted_person_is_logged_out(say: Say, client: Client, db: Database) -> None:
    await say("/habit add Read every=day", user="ann")
    await log_in(say, client, "ann")
    await say.confirmed("/deleteme", user="ann")
    assert (await client.get("/")).status == 401
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(WebToken)) == 0


async def test_logout_needs_the_csrf_token(say: Say, client: Client) -> None:
    page = await log_in(say, client, "ann")
    assert (await client.post("/logout", data={})).status == 403
    assert (await client.get("/")).status == 200
    out = await client.post("/logout", data={"csrf": csrf_of(page)})
    assert out.status == 200
    assert (await client.get("/")).status == 401
    assert re.search(r"Logged out", await out.text())


async def test_plan_tasks_tick_off_from_the_page_like_plan_done(
    say: Say, client: Client, db: Database
) -> None:
    """Three tasks ticked on the page: 5 coins each, and the third checks the habit in, as
    /today's task buttons do (core.planning.service.do_task)."""
    from tests.integration.test_plans import converse

    await converse(say.deps, "stop doom-scrolling", ("sleep", "boredom", "at night"))
    await say("/plan accept")
    page = await log_in(say, client, "ann")
    assert "Plan tasks today" in page and page.count('action="/task"') == 3
    habit = await habit_id(db, "ann", "Less scrolling")
    for position in (1, 2, 3):
        page = await (await client.get("/")).text()
        response = await client.post(
            "/task", data={"csrf": csrf_of(page), "habit": habit, "position": position}
        )
        page = await response.text()
        assert f"({position}/3 today), +5 coins" in page, page
    assert "Less scrolling is checked in: streak 1 clean day" in page
    assert 'action="/task"' not in page
    async with db.session() as session:
        reasons = list(await session.scalars(select(LedgerEntry.reason)))
    assert reasons.count("plan_task") == 3 and reasons.count("checkin") == 1
    again = await client.post(
        "/task", data={"csrf": csrf_of(page), "habit": habit, "position": 1}
    )
    assert "that task is done already" in await again.text()


async def test_a_link_asked_for_before_a_merge_logs_in_the_merged_person(
    say: Say, client: Client, db: Database
) -> None:
    """/link merges Bob into Ann: Bob's unused login link moves with him (merge STEPS) and
    opens the one person's Today, with both accounts' habits."""
    await say("/habit add Read every=day", user="ann")
    await say("/habit add Run every=day", user="bob")
    token = token_of(await say("/app", user="bob"))
    found = re.search(r"code: (\d{6})", (await say("/link", user="ann")).plain())
    assert found
    assert "Linked" in (await say(f"/link {found.group(1)}", user="bob")).plain()
    page = await (await client.get(f"/login?t={token}")).text()
    assert "Read" in page and "Run" in page
    async with db.session() as session:
        owners = set(await session.scalars(select(WebToken.user_id)))
        users = set(await session.scalars(select(User.id)))
    assert owners <= users and len(users) == 1
