"""/start, /help, /timezone, /settings."""

from __future__ import annotations

from typing import Any

from bots.commands.context import Ctx
from bots.commands.format import quiet_notice
from bots.commands.registry import REGISTRY, Arg, command
from bots.commands.usage import cmd, example, usage
from bots.parsing import UsageError
from bots.reply import Reply, Span, bold, code, italic
from core.clock import local_now
from core.errors import InvalidInput, NotFound
from core.habits.service import list_habits, refresh_reminder
from core.social.follows import accept_all_requests
from core.users.settings import DM_POLICIES, DM_SHOWN, parse_quiet, quiet_text


@command("start", "Start here: what Habitbot does and your first steps", group=True)
async def start(ctx: Ctx, args: dict[str, Any]) -> Reply:
    reply = Reply.text("👋 Hi ", bold(ctx.user.name), ", I help you build habits and keep streaks.")
    if ctx.group is not None:
        return reply.add(
            "This group is on Habitbot now: ",
            cmd("group show"),
            " shows it, ",
            cmd("challenges"),
            " lists challenges to join.",
        )
    return (
        reply.blank()
        .add("1. Set your time zone: ", cmd("timezone", "Europe/Berlin"))
        .add("2. Add a habit: ", cmd("habit add", "Read", every="day", remind="21:00"))
        .add("3. Check in each day: ", cmd("done", "Read"), " — then ", cmd("claim"), " gems")
        .add("Your time zone is ", bold(ctx.user.timezone), ". ", cmd("help"), " lists all.")
        .add("You are known as ", bold(f"@{ctx.user.handle}"), "; ", cmd("handle"), " changes it.")
    )


def group_intro() -> Reply:
    """What the bot says when it is added to a group or server: what it does there, and how
    admins start."""
    return (
        Reply.text("👋 Hi, I'm ", bold("Habitbot"), ": I help this group build habits together.")
        .add(
            "Admins start a challenge: ",
            cmd("challenge new", "30 days of reading", days=30, habits="Read"),
            ", and choose where announcements go: ",
            cmd("group settings", announce="here", digest="20:00"),
        )
        .add(
            "Members join it with ",
            cmd("join", 1),
            ", check in with ",
            cmd("done", "Read"),
            " and compare on ",
            cmd("leaderboard"),
            ".",
        )
        .add(
            "Personal answers (",
            cmd("today"),
            ", ",
            cmd("stats"),
            ") go to each person privately. ",
            cmd("help"),
            " lists everything.",
        )
    )


@command(
    "help",
    "List the commands, or show how to use one",
    Arg("command", "a command to explain, e.g. habit", "text"),
    group=True,
    personal=True,
)
async def help_(ctx: Ctx, args: dict[str, Any]) -> Reply:
    shown = REGISTRY.visible(ctx.is_operator)  # operator commands exist for operators only
    tops = shown.tops()
    wanted = args.get("command", "").lstrip("/").lower().strip()
    if not wanted:
        reply = Reply.text(bold("Commands"))
        for top, commands in tops.items():
            if len(commands) == 1:  # a lone subcommand (/freeze buy) is listed as itself
                reply.add(cmd(commands[0].name), f" — {commands[0].description}")
                continue
            subs = [c.sub for c in commands if c.sub]
            reply.add(code(f"/{top}"), f" — {_group_desc(top, subs)}")
        return reply.add(
            "Send ", cmd("help", "<command>"), " for details, e.g. ", cmd("help", "habit"), "."
        )
    top = wanted.split()[0]
    if top not in tops:
        found, _ = shown.resolve(wanted.split())
        if found is None:
            raise NotFound(f"There is no /{wanted[:32]} command. Send /help for the list.")
        top = found.top
    reply = Reply()
    for each in tops[top]:
        reply.add(usage(each.name)).add("  ", each.description)
        for arg in each.args:
            reply.add("  ", italic(arg.name), f": {arg.description}")
        for text in each.examples:
            reply.add("  e.g. ", example(text))
        for text in each.details:
            reply.bullet(text)
        if each.aliases:  # chat text only: a slash menu has no aliases
            names = ", ".join(f"/{a}" for a in each.aliases)
            reply.lines.append((Span("  also: ", chat_only=True), Span(names, chat_only=True)))
    if any(a.keyword for each in tops[top] for a in each.args):
        typed = (  # how chat text is typed: a slash menu has fields instead
            "Options are key=value in any order; a text option takes the words up to the next "
            'option. Put "quotes" around a name to keep it whole.'
        )
        reply.lines.append((Span(typed, chat_only=True),))
    return reply


def _group_desc(top: str, subs: list[str | None]) -> str:
    return {
        "habit": "your habits: " + ", ".join(s for s in subs if s),
    }.get(top, " / ".join(s for s in subs if s))


@command(
    "timezone",
    "Show or set your time zone (IANA name, e.g. Europe/Berlin)",
    Arg("zone", "an IANA time zone like Europe/Berlin or America/New_York", "timezone"),
    examples=("/timezone Europe/Berlin",),
    personal=True,
)
async def timezone(ctx: Ctx, args: dict[str, Any]) -> Reply:
    zone = args.get("zone")
    if zone is None:
        now = local_now(ctx.now, ctx.user.timezone).strftime("%H:%M")
        return Reply.text("Your time zone is ", bold(ctx.user.timezone), f" (it is {now} there).")
    ctx.user.timezone = zone
    for habit in await list_habits(ctx.session, ctx.user.id):
        refresh_reminder(habit, zone, ctx.now)
    now = local_now(ctx.now, zone).strftime("%H:%M")
    return Reply.text("Time zone set to ", bold(zone), f". It is {now} there.")


@command(
    "settings",
    "Show or change your settings",
    # Only settings something reads; profile, DM and language settings come with their features.
    Arg("nudges", "the evening nudge to claim", "choice", keyword=True, choices=("on", "off")),
    Arg("quiet", "quiet hours like 22:00-07:00, or off", "word", keyword=True, max_length=16),
    Arg(
        "profile",
        "who sees your profile: everyone, or people you approve",
        "choice",
        keyword=True,
        choices=("public", "private"),
    ),
    Arg("activity", "feed items made from your milestones", "choice", keyword=True,
        choices=("on", "off")),
    Arg("feed_alerts", "hourly news of reactions and comments on your posts", "choice",
        keyword=True, choices=("on", "off")),
    Arg(
        "dms",
        "who may start direct messages with you",
        "choice",
        keyword=True,
        choices=DM_POLICIES,
    ),
    examples=("/settings quiet=22:00-07:00 nudges=off", "/settings profile=private"),
    private=True,
    personal=True,
)
async def settings(ctx: Ctx, args: dict[str, Any]) -> Reply:
    user = ctx.user
    if "quiet" in args:
        try:
            quiet = parse_quiet(args["quiet"])
        except InvalidInput as error:  # a malformed value: answer with the usage line too
            raise UsageError(str(error)) from None
        user.quiet_start, user.quiet_end = quiet if quiet else (None, None)
    if "nudges" in args:
        user.nudges = args["nudges"] == "on"
        if not user.nudges:
            user.next_nudge_at = None
    for key in ("activity", "feed_alerts"):
        if key in args:
            setattr(user, key, args[key] == "on")
    accepted = 0
    if "profile" in args:
        user.profile_public = args["profile"] == "public"
        if user.profile_public:  # nothing left to approve: whoever asked follows now
            accepted = await accept_all_requests(ctx.session, user.id)
    if "dms" in args:
        user.dm_policy = args["dms"]
    reply = Reply.text(bold("Settings" if not args else "Settings saved"))
    reply.bullet("time zone: ", bold(user.timezone), "  (/timezone)")
    reply.bullet("nudges: ", bold("on" if user.nudges else "off"))
    reply.bullet("quiet: ", bold(quiet_text(user)))
    reply.bullet("profile: ", bold("public" if user.profile_public else "private"))
    reply.bullet("activity: ", bold("on" if user.activity else "off"))
    reply.bullet("feed_alerts: ", bold("on" if user.feed_alerts else "off"))
    reply.bullet("direct messages from: ", bold(DM_SHOWN.get(user.dm_policy, user.dm_policy)))
    if "profile" in args and not user.profile_public:
        reply.add("Only people you approve see your profile now; your followers stay.")
    if accepted:
        reply.add(f"{accepted} waiting request{'s' if accepted != 1 else ''} accepted.")
    if not args:
        example_ = cmd("settings", quiet="22:00-07:00")
        reply.add("Change with ", usage("settings"), ", e.g. ", example_)
    if "quiet" in args:
        for habit in await list_habits(ctx.session, user.id):
            reply.extend(quiet_notice(user, habit))
    return reply
