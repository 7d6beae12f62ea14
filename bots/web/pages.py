"""The companion's pages and form posts. Each request is one unit of work; what it shows and
does comes from core use cases, the same ones the chat commands call."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bots.charts import bar_chart_svg, heatmap_svg
from bots.commands.format import amount_text, pct, streak_text
from bots.commands.usage import cmd
from bots.web import auth
from core.challenges.calendar import challenge_today
from core.challenges.leaderboard import Board, leaderboard
from core.challenges.service import get_visible
from core.clock import local_date
from core.errors import DomainError
from core.habits.service import (
    HabitStats,
    check_in,
    combined_values,
    find_habit,
    habit_stats,
    schedule_of,
    undo,
)
from core.planning.schema import TASKS_PER_DAY
from core.planning.service import TaskResult, do_task, tasks_today
from core.rewards.badges import badge_title
from core.rewards.freezes import apply_missed_day_freezes
from core.social.lookup import find_person
from core.social.profiles import load_profile
from core.storage.models import Challenge, User
from core.users.accounts import resolve_account
from core.users.web_login import first_use_of_init_data, login_nonce, redeem_login

if TYPE_CHECKING:
    from bots.web.app import WebConfig

FLASH = "hb_flash"
# Commands the pages name, written by the registry as chat text (what people type anywhere).
APP = cmd("app").text
ADD_HABIT = cmd("habit add", "Read", every="day").text
YEAR_WEEKS = 53


def _config(request: web.Request) -> WebConfig:
    from bots.web.app import CONFIG

    return request.app[CONFIG]


def _page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    context.setdefault("csrf", "")
    context.setdefault("me", None)
    context.setdefault("flash", unquote(request.cookies.get(FLASH, ""))[:300])
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    response.headers["Cache-Control"] = "no-store"  # personal pages stay out of caches
    if FLASH in request.cookies:
        response.del_cookie(FLASH, path="/")
    return response


def _refused(request: web.Request, status: int, title: str, text: str) -> web.Response:
    return _page(request, "message.html", status=status, title=title, text=text)


def _login_needed(request: web.Request) -> web.Response:
    return _refused(
        request,
        401,
        "Please log in",
        f"Send {APP} to the bot in your chat and open the button it answers with.",
    )


async def _viewer(request: web.Request, session: AsyncSession) -> tuple[User, auth.WebSession]:
    """The logged-in user, or a 401 page (no cookie, a forged or expired one, a deleted user)."""
    config = _config(request)
    now = config.deps.clock.now()
    s = auth.read_session(config.key, request.cookies.get(auth.COOKIE), now)
    user = await session.get(User, s.user_id) if s else None
    if s is None or user is None or user.deleted_at is not None:
        raise _Unauthorized
    return user, s


class _Unauthorized(Exception):
    pass


def _start_session(request: web.Request, response: web.StreamResponse, user_id: int) -> None:
    config = _config(request)
    s = auth.new_session(user_id, config.deps.clock.now())
    response.set_cookie(
        auth.COOKIE,
        auth.session_cookie(config.key, s),
        max_age=int(auth.SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        secure=config.secure_cookies,
        samesite="Lax",  # sent when a chat's link opens the page, never on another site's POST
    )


def _flash(response: web.StreamResponse, text: str) -> None:
    response.set_cookie(FLASH, quote(text[:300]), max_age=60, path="/", httponly=True,
                        samesite="Strict")


# ------------------------------------------------------------------ login
async def login(request: web.Request) -> web.StreamResponse:
    """A login link from /app: once, before it expires; then a session cookie."""
    config = _config(request)
    nonce = login_nonce(config.deps.button_key, request.query.get("t", ""))
    redeemed = None
    if nonce is not None:
        async with config.deps.db.session() as session:
            redeemed = await redeem_login(session, nonce, config.deps.clock.now())
    if redeemed is None:
        return _refused(
            request,
            401,
            "This link does not work",
            f"It was used already, has expired, or is incomplete. Send {APP} for a new one.",
        )
    response = web.HTTPSeeOther("/")
    _start_session(request, response, redeemed.user_id)
    return response


async def telegram_app(request: web.Request) -> web.StreamResponse:
    """The Mini App's first page: its script sends Telegram's signed initData to /auth/telegram
    and then opens Today."""
    return _page(request, "telegram.html", title="Habitbot", app_command=APP)


async def telegram_auth(request: web.Request) -> web.StreamResponse:
    """initData -> session. Forged, stale (auth_date over an hour old) or replayed: 401."""
    config = _config(request)
    if not config.telegram_token:
        return web.json_response({"error": "Telegram sign-in is off"}, status=404)
    form = await request.post()
    init_data = str(form.get("init_data", ""))[:4096]
    now = config.deps.clock.now()
    try:
        who = auth.check_init_data(init_data, config.telegram_token, now)
    except auth.BadInitData as error:
        return web.json_response({"error": str(error)}, status=401)
    try:
        async with config.deps.db.session() as session:
            user, _, _ = await resolve_account(
                session, "telegram", who.user_id, who.name, None, now, username=who.username
            )
            user_id = user.id
            fresh = await first_use_of_init_data(session, who.hash, user_id, now)
    except IntegrityError:  # the same initData twice at once: the other one won
        fresh = False
    if not fresh:
        return web.json_response({"error": "already used"}, status=401)
    response = web.json_response({"ok": True, "next": "/"})
    _start_session(request, response, user_id)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    form = await request.post()
    s = auth.read_session(config.key, request.cookies.get(auth.COOKIE), config.deps.clock.now())
    if s is None or not auth.csrf_ok(config.key, s, str(form.get("csrf", ""))):
        return _refused(request, 403, "Not allowed", "That form was not sent from this site.")
    response = _refused(request, 200, "Logged out", f"Send {APP} to log in again.")
    response.del_cookie(auth.COOKIE, path="/")
    return response


# ------------------------------------------------------------------ today
def _habit_rows(stats: list[HabitStats], today: date) -> list[dict[str, Any]]:
    rows = []
    for s in stats:
        habit = s.habit
        value = s.values.get(today)
        target = ""
        if habit.target is not None:
            logged = (value or 0) * habit.target
            target = f"{amount_text(logged)}/{amount_text(habit.target)} {habit.unit or ''}"
        rows.append(
            {
                "id": habit.id,
                "name": habit.name,
                "kind": habit.kind,
                "scheduled": schedule_of(habit).is_scheduled(today),
                "done": value is not None and value >= 1,
                "logged": value is not None,  # something to undo today
                "target": target.strip(),
                "streak": streak_text(s.streak, habit.kind),
                "best": s.streak.best,
                "strength": pct(s.strength),
            }
        )
    return rows


async def today(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    async with config.deps.db.session() as session:
        try:
            user, s = await _viewer(request, session)
        except _Unauthorized:
            return _login_needed(request)
        day = local_date(config.deps.clock.now(), user.timezone)
        stats = await habit_stats(session, user.id, day)
        tasks = await tasks_today(session, user.id, day)
    rows = _habit_rows(stats, day)
    due = sum(r["scheduled"] or r["done"] for r in rows)
    return _page(
        request,
        "today.html",
        title="Today",
        me=user,
        csrf=s.csrf(config.key),
        day=day,
        habits=rows,
        done=sum(r["done"] for r in rows),
        due=due,
        tasks=tasks,
        add_habit=ADD_HABIT,
    )


async def _habit_post(request: web.Request, action: str) -> web.StreamResponse:
    """A tap on Done or Undo: the same core use cases as /done and /undo (same rows, rewards,
    standings, badges), after the same missed-day freezes the commands apply first."""
    config = _config(request)
    form = await request.post()
    now = config.deps.clock.now()
    response = web.HTTPSeeOther("/")
    habit_ref = str(form.get("habit", ""))
    try:
        async with config.deps.db.session() as session:
            try:
                user, s = await _viewer(request, session)
            except _Unauthorized:
                return _login_needed(request)
            if not auth.csrf_ok(config.key, s, str(form.get("csrf", ""))):
                return _refused(request, 403, "Not allowed", "That form was not sent from here.")
            if not habit_ref.isascii() or not habit_ref.isdigit():
                return _refused(request, 400, "Which habit?", "That habit is not one of yours.")
            day = local_date(now, user.timezone)
            await apply_missed_day_freezes(session, user, day, now)
            habit = await find_habit(session, user.id, f"#{habit_ref}")
            if action == "task":  # a plan task, as /today's task buttons tick it
                position = str(form.get("position", ""))
                number = int(position) if position.isascii() and position.isdigit() else 0
                task = await do_task(session, user, habit, number, day, now)
                text = _task_text(task)
            elif action == "done":
                result = await check_in(session, user, habit, day, now)
                streak = streak_text(result.streak, habit.kind)
                if result.recorded:
                    text = f"✅ {habit.name}: streak {streak}"
                    text += f", +{result.coins} coins" if result.coins else ""
                    text += "".join(f". 🏅 New badge: {badge_title(b)}" for b in result.badges)
                else:
                    text = f"{habit.name} is already done today. Streak: {streak}."
            else:
                coins = await undo(session, user, habit, day, now)
                text = (
                    f"{habit.name} has no check-in today; nothing to undo."
                    if coins is None
                    else f"↩️ Undid {habit.name} for today" + (f", −{coins} coins" if coins else "")
                )
    except DomainError as error:  # a refusal from core: its message is safe to show
        text = str(error)
    _flash(response, text)
    response.location = f"/#habit-{habit_ref}"
    return response


def _task_text(task: TaskResult) -> str:
    if not task.recorded:
        return f"{task.habit.name}: that task is done already."
    text = f"✅ {task.task} ({task.done_today}/{TASKS_PER_DAY} today)"
    text += f", +{task.coins} coins" if task.coins else ""
    if task.check_in is not None and task.check_in.recorded:
        text += f". {task.habit.name} is checked in: streak "
        text += streak_text(task.check_in.streak, task.habit.kind)
    return text


async def task(request: web.Request) -> web.StreamResponse:
    return await _habit_post(request, "task")


async def done(request: web.Request) -> web.StreamResponse:
    return await _habit_post(request, "done")


async def undo_(request: web.Request) -> web.StreamResponse:
    return await _habit_post(request, "undo")


# ------------------------------------------------------------------ profiles
async def me(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    async with config.deps.db.session() as session:
        try:
            user, _ = await _viewer(request, session)
        except _Unauthorized:
            return _login_needed(request)
    raise web.HTTPSeeOther(f"/u/{quote(user.handle or '')}")


async def profile(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    now = config.deps.clock.now()
    async with config.deps.db.session() as session:
        try:
            viewer, s = await _viewer(request, session)
        except _Unauthorized:
            return _login_needed(request)
        try:
            person = await find_person(session, request.match_info["handle"], viewer.id)
        except DomainError:
            return _refused(request, 404, "Not found", "Nobody by that handle.")
        prof = await load_profile(session, person, now)
    today_ = local_date(now, person.user.timezone)
    since = today_ - timedelta(weeks=YEAR_WEEKS)
    matrices = []
    if prof.full and prof.shown:
        values = combined_values(prof.shown, since)
        title = "All habits" if person.is_self else "All public habits"
        matrices.append(Markup(heatmap_svg(values, today_, YEAR_WEEKS, title)))
        for st in prof.shown:
            svg = heatmap_svg(st.values, today_, YEAR_WEEKS, st.habit.name)
            matrices.append(Markup(svg))  # built by charts.py, text escaped there
    habits = [
        {
            "name": st.habit.name,
            "streak": streak_text(st.streak, st.habit.kind),
            "best": st.streak.best,
            "strength": pct(st.strength),
            "public": st.habit.public,
        }
        for st in prof.shown
    ]
    return _page(
        request,
        "profile.html",
        title=f"@{person.handle}",
        me=viewer,
        csrf=s.csrf(config.key),
        person=person,
        profile=prof,
        badges=[badge_title(b) for b in prof.badges],
        habits=habits,
        matrices=matrices,
    )


# ------------------------------------------------------------------ challenges
def _page_number(request: web.Request) -> int | str:
    raw = request.query.get("page", "1")
    if raw == "me":
        return raw
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def _challenge_id(request: web.Request) -> str | None:
    raw = request.match_info["id"]
    return raw if raw.isascii() and raw.isdigit() and len(raw) < 12 else None


async def _board(
    session: AsyncSession, c: Challenge, now: Any, me: int | None, page: int | str
) -> Board:
    day = challenge_today(c, now)
    board = await leaderboard(session, c, day, me=me, page=page if isinstance(page, int) else 1)
    if page == "me" and board.my_page and board.my_page != board.page:
        board = await leaderboard(session, c, day, me=me, page=board.my_page)
    return board


def _board_context(c: Challenge, board: Board, public: bool) -> dict[str, Any]:
    rows = [(f"{r.rank}. {r.handle if public else r.name}", r.rate) for r in board.rows]
    chart = bar_chart_svg([*rows, ("Together", board.collective)], title=c.title)
    return {
        "challenge": c,
        "board": board,
        "chart": Markup(chart),  # built by charts.py, text escaped there
        "collective": pct(board.collective),
        "public": public,
    }


async def challenge(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    ref = _challenge_id(request)
    now = config.deps.clock.now()
    async with config.deps.db.session() as session:
        try:
            viewer, s = await _viewer(request, session)
        except _Unauthorized:
            return _login_needed(request)
        try:
            if ref is None:
                raise DomainError("no such challenge")
            c = await get_visible(session, ref, viewer, None, False)
        except DomainError:
            return _refused(request, 404, "Not found", "No challenge by that number.")
        board = await _board(session, c, now, viewer.id, _page_number(request))
    return _page(
        request,
        "challenge.html",
        title=c.title,
        me=viewer,
        csrf=s.csrf(config.key),
        base=f"/c/{c.id}",
        **_board_context(c, board, public=False),
    )


async def shared_challenge(request: web.Request) -> web.StreamResponse:
    """A public challenge's board for anyone with the link: handles and rates only."""
    config = _config(request)
    ref = _challenge_id(request)
    async with config.deps.db.session() as session:
        c = await session.get(Challenge, int(ref)) if ref else None
        if c is None or c.is_private:  # a private one is not there at all
            return _refused(request, 404, "Not found", "No public challenge by that number.")
        board = await _board(session, c, config.deps.clock.now(), None, _page_number(request))
    response = _page(
        request, "challenge.html", title=c.title, base=f"/s/c/{c.id}",
        **_board_context(c, board, public=True),
    )
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", today)
    app.router.add_post("/done", done)
    app.router.add_post("/undo", undo_)
    app.router.add_post("/task", task)
    app.router.add_get("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/tg", telegram_app)
    app.router.add_post("/auth/telegram", telegram_auth)
    app.router.add_get("/me", me)
    app.router.add_get("/u/{handle}", profile)
    app.router.add_get("/c/{id}", challenge)
    app.router.add_get("/s/c/{id}", shared_challenge)
