"""/group, /join, /leave, /challenge new|list|info|invite|end, /challenges, /leaderboard,
/progress — and the wording of challenge announcements."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from bots.charts import bar_chart_png, grid_text
from bots.commands.buttons import ask
from bots.commands.context import Ctx
from bots.commands.format import pct
from bots.commands.registry import Arg, command
from bots.commands.usage import Refused, cmd
from bots.notifications import renders
from bots.reply import Action, Button, Reply, bold, code, italic
from core.challenges import lifecycle
from core.challenges.calendar import challenge_today
from core.challenges.leaderboard import RULES, Board, Row, leaderboard, progress_grid
from core.challenges.service import (
    MAX_TITLE,
    active_in_scope,
    challenge_habits,
    create_challenge,
    end_early,
    get_visible,
    group_challenges,
    join_challenge,
    leave_challenge,
    my_challenges,
    public_challenges,
    require_manager,
)
from core.errors import InvalidInput
from core.groups.service import join_group, members, update_group
from core.habits.schedule import DAILY
from core.rewards.badges import badge_title
from core.storage.models import Challenge, User
from core.users.handles import shown_as
from core.users.settings import format_minutes

CHALLENGE = Arg("challenge", "the challenge's id", "word", complete="challenge", max_length=20)
CHALLENGE_REQUIRED = replace(CHALLENGE, required=True)


def _when(c: Challenge) -> str:
    return f"{c.start_date:%d %b} – {c.end_date:%d %b %Y}"


def _status(c: Challenge, today: date) -> str:
    if c.status == "ended":
        return "ended"
    if c.status == "scheduled":
        return f"starts {c.start_date:%d %b}"
    left = (c.end_date - today).days
    return "last day" if left <= 0 else f"{left + 1} days left"


def _line(reply: Reply, c: Challenge, today: date) -> None:
    lock = " 🔒" if c.is_private else ""
    reply.bullet(
        code(f"#{c.id}"),
        " ",
        bold(c.title),
        lock,
        f" — {_status(c, today)}, {c.participant_count} joined",
    )


@command(
    "group show",
    "This group: members, challenges, announcements, digest",
    default=True,
    group=True,
    only="group",
)
async def group_show(ctx: Ctx, args: dict[str, Any]) -> Reply:
    group = _require_group(ctx)
    count, names = await members(ctx.session, group.id, limit=10)
    challenges = await group_challenges(ctx.session, group.id)
    reply = Reply.text(bold(group.title))
    more = f" and {count - len(names)} more" if count > len(names) else ""
    reply.add(f"👥 {_members(count)}: {', '.join(names)}{more}")
    where = (
        "this chat"
        if group.announce_chat in (group.external_id, ctx.inv.chat.channel)
        else (f"channel {group.announce_chat}" if group.announce_chat else "not set")
    )
    reply.add(f"📣 announcements: {where}")
    digest = format_minutes(group.digest_at) if group.digest_at is not None else "off"
    reply.add(f"🗞 daily digest: {digest} ({group.timezone})")
    live = [c for c in challenges if c.status != "ended"]
    if live:
        reply.add(bold("Challenges"))
        for c in live:
            _line(reply, c, ctx.today)
    else:
        reply.add("No challenges running.")
    if ctx.is_admin:
        reply.add("Admins: ", cmd("challenge new"), ", ", cmd("group settings"))
    return reply


@command(
    "group settings",
    "Admins: set the announcement place, digest time and time zone",
    Arg(
        "announce",
        "here: announcements go to this chat or channel",
        "choice",
        keyword=True,
        choices=("here",),
    ),
    Arg("digest", "daily digest time HH:MM, or off", "times", keyword=True, hint="HH:MM|off"),
    Arg("timezone", "the group's time zone for the digest", "timezone", keyword=True),
    admin=True,
    examples=("/group settings announce=here digest=20:00 timezone=Europe/Berlin",),
    group=True,
    only="group",
)
async def group_settings(ctx: Ctx, args: dict[str, Any]) -> Reply:
    group = _require_group(ctx)
    if not ctx.is_admin:
        raise InvalidInput("Only group admins can change the group's settings.")
    if not args:
        raise Refused("Say what to change, e.g. ", cmd("group settings", digest="20:00"), ".")
    digest = args.get("digest")
    if digest is not None and len(digest) > 1:
        raise InvalidInput("The digest goes out once a day: give one time.")
    await update_group(
        ctx.session,
        group,
        now=ctx.now,
        announce_chat=(ctx.inv.chat.channel or group.external_id) if "announce" in args else None,
        digest=digest,
        timezone=args.get("timezone"),
    )
    return Reply.text("✅ Saved.").extend(await group_show(ctx, {}))


def _require_group(ctx: Ctx) -> Any:
    if ctx.group is None:
        raise InvalidInput("That works in a group chat. Add me to a group and try there.")
    return ctx.group


@command(
    "join",
    "Join this group, or a challenge by id or invite code",
    Arg("challenge", "a challenge id or invite code", "word", complete="challenge", max_length=20),
    examples=("/join 12", "/join K7PX2QMA"),
    group=True,
)
async def join(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if "challenge" not in args:
        if ctx.group is None:
            raise Refused(
                "Give a challenge id or invite code: ",
                cmd("join", 12),
                ". ",
                cmd("challenges"),
                " lists them.",
            )
        await join_group(ctx.session, ctx.group.id, ctx.user.id, ctx.now)
        return Reply.text(
            "You are a member of ",
            bold(ctx.group.title),
            ". ",
            cmd("challenge list"),
            " shows its challenges.",
        )
    challenge, added = await join_challenge(
        ctx.session, ctx.user, args["challenge"], ctx.group, ctx.inv.is_admin, ctx.today, ctx.now
    )
    reply = Reply.text("🎯 You joined ", bold(challenge.title), f" ({_when(challenge)}).")
    if added:
        reply.add("Added to your habits: ", ", ".join(added), ".")
    habits = await challenge_habits(ctx.session, challenge.id)
    return reply.add(
        "Check in with ",
        cmd("done", habits[0]),
        "; ",
        cmd("leaderboard", challenge.id),
        " shows the board.",
    )


@command(
    "leave",
    "Leave a challenge (your habits stay)",
    CHALLENGE_REQUIRED,
    examples=("/leave 12",),
    group=True,
)
async def leave(ctx: Ctx, args: dict[str, Any]) -> Reply:
    challenge = await leave_challenge(ctx.session, ctx.user, args["challenge"])
    return Reply.text("You left ", bold(challenge.title), ". Its habits stay in /habits.")


@command(
    "challenge new",
    "Create a challenge (admins in groups; anyone privately)",
    Arg("title", "the challenge's title", "text", required=True, max_length=MAX_TITLE),
    Arg(
        "days", "how many days it runs (1-365)", "int", keyword=True, required=True, min=1, max=365
    ),
    Arg(
        "habits",
        "its habits, separated by ;",
        "text",
        keyword=True,
        required=True,
        max_length=700,
        hint="Read;Run",
    ),
    Arg(
        "start",
        "YYYY-MM-DD, today or tomorrow (default today)",
        "date",
        keyword=True,
        hint="YYYY-MM-DD|tomorrow",
    ),
    Arg(
        "every",
        "day, weekdays, weekends or mon,wed,fri",
        "schedule",
        keyword=True,
        hint="day|weekdays|mon,wed,fri",
    ),
    Arg("private", "only people with the invite code can join", "flag"),
    admin=True,
    examples=("/challenge new 30 days of reading days=30 habits=Read;Stretch start=tomorrow",),
    group=True,
)
async def challenge_new(ctx: Ctx, args: dict[str, Any]) -> Reply:
    challenge = await create_challenge(
        ctx.session,
        ctx.user,
        ctx.group,
        ctx.is_admin,
        title=args["title"],
        days=int(args["days"]),
        habits=args["habits"].split(";"),
        start=args.get("start", ctx.today),
        today=ctx.today,
        now=ctx.now,
        schedule=args.get("every", DAILY),
        private=bool(args.get("private")),
    )
    habits = await challenge_habits(ctx.session, challenge.id)
    reply = Reply.text(
        "🏁 Challenge ", code(f"#{challenge.id}"), " ", bold(challenge.title), " created."
    )
    reply.add(f"{_when(challenge)} · {', '.join(habits)}")
    if challenge.is_private:
        reply.private = True  # the code is for the creator to share, not for the whole group
        reply.add(
            "Invite code: ",
            code(challenge.invite_code or ""),
            " — share it: ",
            cmd("join", challenge.invite_code),
        )
    else:
        reply.add("Join with ", cmd("join", challenge.id))
    if ctx.group is None:
        await join_challenge(
            ctx.session,
            ctx.user,
            challenge.invite_code or str(challenge.id),
            None,
            False,
            ctx.today,
            ctx.now,
        )
        reply.add("You are in it.")
    return reply


@command(
    "challenge list",
    "The group's challenges here, or yours in a private chat",
    default=True,
    group=True,
)
async def challenge_list(ctx: Ctx, args: dict[str, Any]) -> Reply:
    if ctx.group is not None:
        items = await group_challenges(ctx.session, ctx.group.id)
        if not items:
            return Reply.text("No challenges in this group yet.")
        reply = Reply.text(bold(f"Challenges in {ctx.group.title}"))
        for c in items:
            _line(reply, c, ctx.today)
        return reply
    mine = await my_challenges(ctx.session, ctx.user.id)
    if not mine:
        return Reply.text("You are in no challenge. ", cmd("challenges"), " lists public ones.")
    reply = Reply.text(bold("Your challenges"))
    for c, joined in mine:
        _line(reply, c, ctx.today)
        if not joined:
            reply.add("   ", italic("(you own it; not joined)"))
    return reply


@command(
    "challenges",
    "Explore public challenges, most popular first",
    Arg("page", "page number", "int", min=1, max=1000),
    group=True,
)
async def challenges(ctx: Ctx, args: dict[str, Any]) -> Reply:
    page = int(args.get("page", 1))
    items, total = await public_challenges(ctx.session, page)
    pages = (total + 9) // 10
    if not items and total:
        return Reply.text(
            f"There is no page {page}: {total} public challenges fit on {pages}. ",
            cmd("challenges", pages),
            error=True,
        )
    if not items:
        return Reply.text("No public challenges yet. Start one: ", cmd("challenge new"))
    reply = Reply.text(bold(f"Public challenges (page {page}/{pages})"))
    for c in items:
        _line(reply, c, ctx.today)
    if page < pages:
        reply.add("More: ", cmd("challenges", page + 1))
    return reply.add("Join with ", cmd("join", "<id>"))


@command(
    "challenge info",
    "A challenge's details",
    CHALLENGE_REQUIRED,
    examples=("/challenge info 12",),
    group=True,
)
async def challenge_info(ctx: Ctx, args: dict[str, Any]) -> Reply:
    c = await get_visible(ctx.session, args["challenge"], ctx.user, ctx.group, ctx.inv.is_admin)
    habits = await challenge_habits(ctx.session, c.id)
    reply = Reply.text(code(f"#{c.id}"), " ", bold(c.title), " 🔒" if c.is_private else "")
    reply.bullet(f"{_when(c)} ({_status(c, challenge_today(c, ctx.now))})")
    reply.bullet(f"habits: {', '.join(habits)} · {c.schedule}")
    reply.bullet(f"{c.participant_count} joined")
    owner = await ctx.session.get(User, c.owner_id)  # the caller's own row costs nothing
    if owner is not None:
        reply.bullet(f"created by {shown_as(owner)}")
    return reply


@command(
    "challenge invite",
    "Show a private challenge's invite code (owner and admins)",
    CHALLENGE_REQUIRED,
    examples=("/challenge invite 12",),
    group=True,
    private=True,
)
async def challenge_invite(ctx: Ctx, args: dict[str, Any]) -> Reply:
    c = await get_visible(ctx.session, args["challenge"], ctx.user, ctx.group, ctx.inv.is_admin)
    await require_manager(ctx.session, c, ctx.user, ctx.group, ctx.inv.is_admin)
    if c.invite_code is None:
        return Reply.text(bold(c.title), " is public: anyone joins with ", cmd("join", c.id))
    return Reply.text("Invite code for ", bold(c.title), ": ", code(c.invite_code))


@command(
    "challenge end",
    "End a challenge now (owner and group admins)",
    CHALLENGE_REQUIRED,
    examples=("/challenge end 12",),
    admin=True,
    group=True,
    confirm=True,
)
async def challenge_end(ctx: Ctx, args: dict[str, Any]) -> Reply:
    c = await get_visible(ctx.session, args["challenge"], ctx.user, ctx.group, ctx.inv.is_admin)
    await require_manager(ctx.session, c, ctx.user, ctx.group, ctx.inv.is_admin)
    if c.status == "ended":
        raise InvalidInput(f"{c.title!r} has already ended.")
    if not ctx.confirmed:
        return ask(
            ctx,
            "End ",
            bold(c.title),
            f" now? {_people(c.participant_count)} joined; the final board is announced "
            "and rewards are paid.",
            yes="🏁 End it now",
            values={"challenge": str(c.id)},
        )
    await end_early(ctx.session, c, challenge_today(c, ctx.now))
    final = await lifecycle.finalize(ctx.session, c, ctx.now, early=True)
    reply = Reply.text("🏁 ", bold(c.title), " has ended. ", _winners_line(final.board.rows))
    if final.announced:  # the final board goes there once; not twice into the same chat
        return reply.add("The final board is posted to the group's announcements.")
    return reply.extend(_board_reply(c, _first_page(final.board), ctx.user.id, final=True))


def _rate(row: Row) -> str:
    """72% (13/18); before anything is due (the first day, nothing done yet) just 0%."""
    return f"{pct(row.rate)} ({row.completed}/{row.scheduled})" if row.scheduled else "0%"


def _first_page(board: Board) -> Board:
    return replace(board, rows=board.rows[:10], pages=-(-board.participants // 10))


def _winners_line(rows: list[Row]) -> str:
    names = [r.name for r in rows if r.rank == 1 and r.completed > 0]
    if not names:
        return "Nobody did a task, so there is no winner."
    return _winners(names, len(names))


def _winners(names: list[str], count: int) -> str:
    more = f" and {count - len(names)} more" if count > len(names) else ""
    if count == 1:
        return f"🏆 Winner: {names[0]}."
    return f"🏆 Winners, tied at the top: {', '.join(names)}{more}."


async def _pick(ctx: Ctx, ref: str | None, command: str) -> Challenge:
    if ref:
        return await get_visible(ctx.session, ref, ctx.user, ctx.group, ctx.inv.is_admin)
    active = await active_in_scope(ctx.session, ctx.user.id, ctx.group)
    if len(active) == 1:
        return active[0]
    if not active:
        raise Refused("No active challenge here. Give an id: ", cmd(command, 12), ".")
    ids = ", ".join(f"#{c.id} {c.title}" for c in active[:5])
    raise InvalidInput(f"Several challenges are running ({ids}); give the id.")


@command(
    "leaderboard",
    "A challenge's ranking and collective progress",
    CHALLENGE,
    Arg("page", "which page of ten, or 0 for the page you are on", "int", keyword=True, min=0),
    group=True,
    details=RULES,
    examples=("/leaderboard 12 page=2",),
)
async def leaderboard_(ctx: Ctx, args: dict[str, Any]) -> Reply:
    c = await _pick(ctx, args.get("challenge"), "leaderboard")
    today = challenge_today(c, ctx.now)
    page = int(args.get("page", 1))
    board = await leaderboard(ctx.session, c, today, me=ctx.user.id, page=page or 1)
    if page == 0 and board.my_page and board.my_page != board.page:
        board = await leaderboard(ctx.session, c, today, me=ctx.user.id, page=board.my_page)
    return _board_reply(c, board, ctx.user.id, final=c.status == "ended")


def _board_reply(c: Challenge, board: Board, me: int, final: bool) -> Reply:
    title = f"{'Final board' if final else 'Leaderboard'}: {c.title}"
    reply = Reply.text(bold(title)).as_card("gold")
    if not board.participants:
        return reply.add("Nobody has joined yet. ", cmd("join", c.id))
    if c.status == "scheduled":
        return reply.add(
            f"Starts {c.start_date:%a %d %b %Y}: {_people(board.participants)} joined so far. "
            "The board fills from the first day."
        )
    if board.pages > 1:
        reply.add(italic(f"Page {board.page} of {board.pages}"))
    medals = {1: "🥇", 2: "🥈", 3: "🥉"}
    for r in board.rows:
        mark = " ← you" if r.user_id == me else ""
        reply.add(
            f"{medals.get(r.rank, f'{r.rank}.')} ",
            bold(r.name) if mark else r.name,
            f" — {_rate(r)} · 🔥{r.streak}{mark}",
        )
    if board.me and board.me not in board.rows:
        reply.add(f"… you are #{board.me.rank} of {board.participants} ({_rate(board.me)})")
    reply.add(
        f"Together: {pct(board.collective)} of the tasks so far ({_people(board.participants)})"
    ).mark_field()
    reply.image = bar_chart_png(
        [(f"{r.rank}. {r.name}", r.rate) for r in board.rows] + [("Together", board.collective)],
        title=c.title,
    )
    reply.image_name = "leaderboard.png"
    nav = []
    if board.page > 1:
        nav.append(Button("⬅️", Action("leaderboard", f"{c.id} page={board.page - 1}")))
    if board.my_page and board.my_page != board.page:
        nav.append(Button("📍 around me", Action("leaderboard", f"{c.id} page=0")))
    if board.page < board.pages:
        nav.append(Button("➡️", Action("leaderboard", f"{c.id} page={board.page + 1}")))
    reply.shared = True  # any member may page it; "around me" finds whoever pressed
    return reply.button_row(*nav)


@command(
    "progress", "Your own grid for a challenge: days × habits", CHALLENGE, group=True, private=True
)
async def progress(ctx: Ctx, args: dict[str, Any]) -> Reply:
    c = await _pick(ctx, args.get("challenge"), "progress")
    today = challenge_today(c, ctx.now)
    grid = await progress_grid(ctx.session, c, ctx.user.id, today)
    if grid is None and c.status == "ended":
        return Reply.text(bold(c.title), " has ended, and you were not in it. ", cmd("challenges"))
    if grid is None:
        return Reply.text("You are not in ", bold(c.title), ". Join: ", cmd("join", c.id))
    cells: dict[tuple[int, date], bool | None] = {}
    for i in range(len(grid.habits)):
        for day in grid.days:
            cells[(i, day)] = None if day > today else (i, day) in grid.done
    done = len(grid.done)
    due = sum(1 for v in cells.values() if v is not None)
    reply = Reply.text(bold(f"Your progress: {c.title}"), f" — {done}/{due} done").as_card("green")
    for line in grid_text(grid.habits, grid.days, cells).splitlines():
        reply.add(code(line))
    return reply


def _board_notice(data: dict[str, Any], head: str) -> Reply:
    reply = Reply.text(head)
    for row in data.get("top", [])[:10]:
        reply.add(f"{row['rank']}. {row['name']} — {pct(row['rate'])} · 🔥{row['streak']}")
    reply.add(
        f"Together: {pct(data.get('collective', 0))} ({_people(data.get('participants', 0))})"
    )
    return reply


@renders("challenge_start")
def _start_notice(data: dict[str, Any]) -> Reply:
    return Reply.text(
        "🏁 ",
        bold(data["title"]),
        f" starts today: {data['days']} day{'' if data['days'] == 1 else 's'}, until "
        f"{date.fromisoformat(data['end_date']):%d %b %Y}. Join with ",
        cmd("join", data["challenge_id"]),
    )


@renders("challenge_last_day")
def _last_day_notice(data: dict[str, Any]) -> Reply:
    return _board_notice(data, f"⏳ Last day of {data['title']}! Check in today to count.")


@renders("challenge_final")
def _final_notice(data: dict[str, Any]) -> Reply:
    reply = _board_notice(data, f"🏆 {data['title']} has ended. Final board:")
    if data.get("winner_count"):
        reply.add(_winners(data.get("winners", []), data["winner_count"]))
    finishers = data.get("finishers", 0)
    if not finishers:
        return reply.add("Nobody reached 80% of the tasks this time. Next one!")
    return reply.add(f"{_people(finishers)} finished (80%+ of the tasks). Well done!")


@renders("challenge_result")
def _result_notice(data: dict[str, Any]) -> Reply:
    reply = Reply.text(
        "🏁 ",
        bold(data["title"]),
        f" has ended. You ranked #{data['rank']} of {data['participants']} with "
        f"{pct(data['rate'])} ({data['completed']}/{data['scheduled']} tasks).",
    )
    earned = [f"{data['coins']} coins"] if data.get("coins") else []
    earned += [f"the {badge_title(b)} badge" for b in data.get("badges", [])]
    if earned:
        reply.add("You earned ", " and ".join(earned), ". 🎉")
    if board := data.get("board"):
        reply.extend(_final_notice(board))
    elif data.get("winner_count"):
        reply.add(_winners(data.get("winners", []), data["winner_count"]))
    return reply


def _members(n: int) -> str:
    return "1 member" if n == 1 else f"{n} members"


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


@renders("group_day")
def _day_notice(data: dict[str, Any]) -> Reply:
    day = date.fromisoformat(data["date"])
    reply = Reply.text("📋 ", bold(f"{data['group']}, {day:%a %d %b}"))
    names, count = data.get("names", []), data.get("count", 0)
    more = f" and {count - len(names)} more" if count > len(names) else ""
    if names:
        return reply.add(f"✅ {_people(count)} checked in: {', '.join(names)}{more}")
    return reply.add("Nobody has checked in yet today.")


@renders("group_digest")
def _digest_notice(data: dict[str, Any]) -> Reply:
    reply = Reply.text("🗞 ", bold(f"{data['group']} today"))
    names = data.get("checked_in", [])
    count = data.get("checked_in_count", len(names))
    if names:
        more = f" and {count - len(names)} more" if count > len(names) else ""
        reply.add(f"✅ {count} checked in: {', '.join(names)}{more}")
    else:
        reply.add("Nobody has checked in yet today. There's still time!")
    for board in data.get("challenges", []):
        top = ", ".join(f"{r['rank']}. {r['name']} {pct(r['rate'])}" for r in board["top"][:3])
        reply.add(
            bold(board["title"]),
            f": together {pct(board['collective'])}",
            f" — {top}" if top else "",
        )
    return reply
