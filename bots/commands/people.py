"""/profile, /bio, /follow, /unfollow, /followers, /following, /requests, /approve, /decline,
/people, /block, /unblock, /blocked, /report; for operators /verify, /unverify, /reports."""

from __future__ import annotations

from typing import Any

from bots.commands.context import Ctx
from bots.commands.format import streak_text
from bots.commands.registry import Arg, command
from bots.commands.usage import Refused, cmd
from bots.reply import Action, Button, Reply, Span, bold, italic
from core.habits.service import list_habits
from core.rewards.badges import badge_title
from core.social.blocks import block, blocked_users, unblock
from core.social.discovery import suggestions
from core.social.follows import answer_request, follow, follow_list, unfollow
from core.social.lookup import Person, find_person
from core.social.profiles import MAX_BIO, load_profile, set_bio
from core.social.reports import MAX_REASON, close_report, open_reports, report
from core.social.verification import set_verified
from core.storage import cipher
from core.storage.models import User

PERSON = Arg(
    "person", "their @handle, e.g. @ann", "word", required=True, max_length=64, complete="person"
)
PAGE = Arg("page", "page number", "int", min=1, max=1000)
REASONS = ("spam", "abuse", "impersonation")


def who(user: User) -> str:
    """@handle with the verified mark."""
    mark = " ✔" if user.verified else ""
    return f"@{user.handle or f'user{user.id}'}{mark}"


def listed(user: User) -> str:
    """A person in a list: a private profile shows only its handle and mark."""
    return f"{who(user)} — {user.name}" if user.profile_public else who(user)


def at(user: User) -> str:
    return f"@{user.handle or f'user{user.id}'}"


async def _person(ctx: Ctx, args: dict[str, Any], key: str = "person") -> Person:
    return await find_person(ctx.session, args[key], ctx.user.id)


def _unit(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


# ------------------------------------------------------------------------------ profiles


@command(
    "profile",
    "Someone's profile (or yours): streak, badges, public habits, followers",
    Arg(
        "person", "their @handle; leave out for your own", "word", max_length=64, complete="person"
    ),
    examples=("/profile", "/profile @ann"),
    group=True,
    private=True,  # what it shows depends on who asks (a follower sees a private profile)
)
async def profile(ctx: Ctx, args: dict[str, Any]) -> Reply:
    handle = args.get("person") or f"@{ctx.user.handle}"
    person = await find_person(ctx.session, handle, ctx.user.id)
    user = person.user
    if person.i_blocked:
        return Reply.text(
            bold(who(user)), f" — you blocked {at(user)}. ", cmd("unblock", at(user))
        ).button_row(Button("Unblock", Action("unblock", at(user))))
    shown = await load_profile(ctx.session, person, ctx.now)
    reply = Reply.text(bold(who(user)), *([f" — {user.name}"] if shown.full else []))
    if not shown.full:
        reply.add("🔒 This profile is private: only people they approved see it.")
    else:
        if user.bio:
            reply.add(italic(user.bio))
        reply.add(f"Member since {user.created_at:%d %b %Y}")
        reply.add(f"🔥 Best current streak: {_unit(shown.best_streak, shown.streak_unit)}")
        if shown.badges:
            reply.add("🏅 ", ", ".join(badge_title(b) for b in shown.badges))
        if shown.habits:
            habits = ", ".join(f"{n} ({streak_text(s, kind)})" for n, s, kind in shown.habits)
            reply.add("Habits: ", habits)
        if shown.challenges:
            reply.add("Challenges: ", ", ".join(shown.challenges))
        reply.add(f"👥 {_unit(person.followers, 'follower')} · {person.following} following")
    if person.is_self:
        state, flip = ("public", "private") if user.profile_public else ("private", "public")
        reply.add(
            f"Your profile is {state}; ", cmd("settings", profile=flip), f" makes it {flip}. ",
            cmd("bio", "<text>"), " sets your bio.",
        )  # fmt: skip
        hidden = [h for h in await list_habits(ctx.session, user.id) if not h.public]
        if hidden:  # the habits were loaded with the account: no statement
            reply.add(
                "Your habits are private until you show one: ",
                cmd("habit edit", hidden[0].name, visibility="public"),
            )
        return reply
    if person.i_follow == "pending":
        reply.add("You asked to follow them; they have not answered yet.")
    if person.follows_me == "pending":
        reply.add(f"{at(user)} asks to follow you.")
        reply.button_row(
            Button("✅ Approve", Action("approve", at(user))),
            Button("✖ Decline", Action("decline", at(user))),
        )
    if person.i_follow is None:
        label = "➕ Follow" if user.profile_public else "➕ Ask to follow"
        first = Button(label, Action("follow", at(user)))
    elif person.i_follow == "pending":
        first = Button("Withdraw request", Action("unfollow", at(user)))
    else:
        first = Button("Unfollow", Action("unfollow", at(user)))
    return reply.button_row(first, Button("🚩 Report", Action("report", at(user))))


@command(
    "bio",
    f"Set the line about you on your profile (at most {MAX_BIO} characters; - clears it)",
    Arg("text", "a line about you", "text", required=True, max_length=MAX_BIO),
    examples=("/bio Reading 20 pages a day since March",),
    private=True,
)
async def bio(ctx: Ctx, args: dict[str, Any]) -> Reply:
    text = set_bio(ctx.user, args["text"])
    if text is None:
        return Reply.text("Bio cleared.")
    return Reply.text("Bio saved: ", italic(text)).add("See it on ", cmd("profile"), ".")


# ------------------------------------------------------------------------------ follows


@command(
    "follow",
    "Follow someone (a private profile gets a request)",
    PERSON,
    examples=("/follow @ann",),
    group=True,
    private=True,
)
async def follow_(ctx: Ctx, args: dict[str, Any]) -> Reply:
    person = await _person(ctx, args)
    if person.i_blocked:
        raise Refused(
            f"You blocked {at(person.user)}. ", cmd("unblock", at(person.user)), " first."
        )
    status = await follow(ctx.session, ctx.user, person, ctx.now)
    name = at(person.user)
    if status == "pending":
        return Reply.text(f"🔒 {name}'s profile is private: I asked them to approve you.")
    return Reply.text(f"✅ You follow {name} now.").button_row(
        Button("👤 Profile", Action("profile", name))
    )


@command(
    "unfollow",
    "Stop following someone, or withdraw a request",
    PERSON,
    examples=("/unfollow @ann",),
    private=True,
)
async def unfollow_(ctx: Ctx, args: dict[str, Any]) -> Reply:
    person = await _person(ctx, args)
    was = await unfollow(ctx.session, ctx.user, person, ctx.now)
    if was == "pending":
        return Reply.text(f"Request to follow {at(person.user)} withdrawn.")
    return Reply.text(f"You no longer follow {at(person.user)}.")


def _nav(reply: Reply, name: str, page: int, pages: int) -> Reply:
    buttons = []
    if page > 1:
        buttons.append(Button("◀ Previous", Action(name, str(page - 1))))
    if page < pages:
        buttons.append(Button("Next ▶", Action(name, str(page + 1))))
    return reply.button_row(*buttons)


def _no_page(name: str, page: int, pages: int) -> Reply:
    return Reply.text(
        f"There is no page {page}: the list has {pages}. ", cmd(name, pages), error=True
    )


@command("followers", "The people who follow you", PAGE, private=True)
async def followers(ctx: Ctx, args: dict[str, Any]) -> Reply:
    found = await follow_list(ctx.session, ctx.user.id, "followers", int(args.get("page", 1)))
    if not found.users:
        if found.total:
            return _no_page("followers", found.page, found.pages)
        return Reply.text("No followers yet. ", cmd("people"), " suggests people to follow.")
    reply = Reply.text(bold(f"Your followers: {found.total} (page {found.page}/{found.pages})"))
    for user in found.users:
        reply.bullet(listed(user))
        reply.button_row(Button(f"👤 {at(user)}"[:40], Action("profile", at(user))))
    return _nav(reply, "followers", found.page, found.pages)


@command("following", "The people you follow", PAGE, private=True)
async def following(ctx: Ctx, args: dict[str, Any]) -> Reply:
    found = await follow_list(ctx.session, ctx.user.id, "following", int(args.get("page", 1)))
    if not found.users:
        if found.total:
            return _no_page("following", found.page, found.pages)
        return Reply.text("You follow no one yet. ", cmd("people"), " suggests people.")
    reply = Reply.text(bold(f"You follow {found.total} (page {found.page}/{found.pages})"))
    for user in found.users:
        reply.bullet(listed(user))
        reply.button_row(
            Button(f"👤 {at(user)}"[:40], Action("profile", at(user))),
            Button("Unfollow", Action("unfollow", at(user))),
        )
    return _nav(reply, "following", found.page, found.pages)


@command(
    "requests", "Requests to follow your private profile, to approve or decline", PAGE, private=True
)
async def requests(ctx: Ctx, args: dict[str, Any]) -> Reply:
    found = await follow_list(ctx.session, ctx.user.id, "requests", int(args.get("page", 1)))
    if not found.users:
        if found.total:
            return _no_page("requests", found.page, found.pages)
        return Reply.text("No one is waiting for your answer.")
    reply = Reply.text(bold(f"Asking to follow you: {found.total}"))
    for user in found.users:
        reply.bullet(listed(user))
        reply.button_row(
            Button(f"✅ {at(user)}"[:40], Action("approve", at(user))),
            Button("✖ Decline", Action("decline", at(user))),
        )
    return _nav(reply, "requests", found.page, found.pages)


@command(
    "approve", "Let someone who asked follow you", PERSON, examples=("/approve @ann",), private=True
)
async def approve(ctx: Ctx, args: dict[str, Any]) -> Reply:
    person = await _person(ctx, args)
    await answer_request(ctx.session, ctx.user, person, True, ctx.now)
    return Reply.text(f"✅ {at(person.user)} follows you now.")


@command(
    "decline",
    "Turn down someone's request to follow you",
    PERSON,
    examples=("/decline @ann",),
    private=True,
)
async def decline(ctx: Ctx, args: dict[str, Any]) -> Reply:
    person = await _person(ctx, args)
    await answer_request(ctx.session, ctx.user, person, False, ctx.now)
    return Reply.text(f"Declined {at(person.user)}'s request (they are not told).")


# ------------------------------------------------------------------------------ discovery


@command(
    "people",
    "People to follow: from your groups and challenges, then active ones",
    PAGE,
    group=True,
    private=True,
)
async def people(ctx: Ctx, args: dict[str, Any]) -> Reply:
    page = int(args.get("page", 1))
    found = await suggestions(ctx.session, ctx.user.id, page, ctx.now)
    if not found.items:
        if page > 1:
            return Reply.text("No more suggestions. ", cmd("people"), " starts again.", error=True)
        return Reply.text(
            "No one to suggest yet. Join a group or a challenge: ", cmd("challenges"), "."
        )
    reply = Reply.text(bold(f"People to follow (page {page})"))
    for item in found.items:
        user = item.user
        why = f"{item.shared} in common" if item.shared else "active lately"
        reply.bullet(listed(user), " ", italic(f"({why})"))
        label = "➕ Follow" if user.profile_public else "➕ Ask"
        reply.button_row(
            Button(f"{label} {at(user)}"[:40], Action("follow", at(user))),
            Button("👤 Profile", Action("profile", at(user))),
        )
    return _nav(reply, "people", page, page + 1 if found.more else page)


# ------------------------------------------------------------------------------ safety


@command(
    "block",
    "Block someone: neither of you sees the other (they are not told)",
    PERSON,
    examples=("/block @ann",),
    private=True,
)
async def block_(ctx: Ctx, args: dict[str, Any]) -> Reply:
    person = await _person(ctx, args)
    await block(ctx.session, ctx.user, person, ctx.now)
    return Reply.text(
        f"🚫 Blocked {at(person.user)}. You no longer see each other; follows between you ended."
    ).button_row(Button("Undo", Action("unblock", at(person.user))))


@command("unblock", "Unblock someone", PERSON, examples=("/unblock @ann",), private=True)
async def unblock_(ctx: Ctx, args: dict[str, Any]) -> Reply:
    person = await _person(ctx, args)
    await unblock(ctx.session, ctx.user, person)
    return Reply.text(f"Unblocked {at(person.user)}. Follows ended by the block stay ended.")


@command("blocked", "The people you blocked", private=True)
async def blocked(ctx: Ctx, args: dict[str, Any]) -> Reply:
    users = await blocked_users(ctx.session, ctx.user.id)
    if not users:
        return Reply.text("You have blocked no one.")
    reply = Reply.text(bold(f"You blocked {len(users)}"))
    for user in users[:50]:
        reply.bullet(who(user))
    for user in users[:10]:
        reply.button_row(Button(f"Unblock {at(user)}"[:40], Action("unblock", at(user))))
    return reply


@command(
    "report",
    "Report someone to the bot's operators",
    PERSON,
    Arg("reason", "what is wrong, e.g. spam", "text", max_length=MAX_REASON),
    examples=("/report @ann spam",),
    private=True,
)
async def report_(ctx: Ctx, args: dict[str, Any]) -> Reply:
    person = await _person(ctx, args)
    name = at(person.user)
    if "reason" not in args:  # the Report button: ask why, with the usual reasons
        reply = Reply.text(
            f"What is wrong with {name}? Pick one or type ", cmd("report", name, "<reason>"), "."
        )
        return reply.button_row(
            *(Button(r.capitalize(), Action("report", f"{name} {r}")) for r in REASONS)
        )
    new = await report(ctx.session, ctx.user, person, args["reason"], ctx.now)
    if not new:
        return Reply.text(f"You reported {name} already; the operators will look at it.")
    return Reply.text(
        f"🚩 Thanks: your report about {name} was received. The operators will look at it."
    ).add("You can also ", cmd("block", name), ".")


# ------------------------------------------------------------------------------ operators


@command(
    "verify", "Give someone the verified mark", PERSON, examples=("/verify @ann",), operator=True
)
async def verify(ctx: Ctx, args: dict[str, Any]) -> Reply:
    person = await _person(ctx, args)
    set_verified(person, True)
    return Reply.text(f"{who(person.user)} is verified now.")


@command(
    "unverify",
    "Take someone's verified mark away",
    PERSON,
    examples=("/unverify @ann",),
    operator=True,
)
async def unverify(ctx: Ctx, args: dict[str, Any]) -> Reply:
    person = await _person(ctx, args)
    set_verified(person, False)
    return Reply.text(f"{at(person.user)} is no longer verified.")


@command("reports list", "Open reports, oldest first", PAGE, default=True, operator=True)
async def reports_list(ctx: Ctx, args: dict[str, Any]) -> Reply:
    found = await open_reports(ctx.session, int(args.get("page", 1)))
    if not found.items:
        if found.total:
            return _no_page("reports list", found.page, found.pages)
        return Reply.text("No open reports.")
    reply = Reply.text(bold(f"Open reports: {found.total} (page {found.page}/{found.pages})"))
    for item in found.items:
        r = item.report
        reply.bullet(
            f"#{r.id} @{item.target} by @{item.reporter} ({r.created_at:%d %b %H:%M}): ",
            Span(r.reason),
        )
        kept = r.snapshot.get("messages") or []
        if kept:  # a conversation's last messages, encrypted in the snapshot: read them now
            box = cipher.current()
            reply.add(f"   {len(kept)} direct messages kept; the last ones:")
            for m in kept[-3:]:
                who_ = f"@{item.target}" if m["sender_id"] == r.target_user_id else "reporter"
                reply.add(f"   {who_}: ", Span(box.decrypt(m["body"], f"report {r.id}")[:200]))
        reply.button_row(Button(f"Close #{r.id}", Action("reports close", str(r.id))))
    return _nav(reply, "reports list", found.page, found.pages)


@command(
    "reports close",
    "Close a report once it is dealt with",
    Arg("id", "the report's number", "int", required=True, min=1, max=2**53),
    examples=("/reports close 1",),
    operator=True,
)
async def reports_close(ctx: Ctx, args: dict[str, Any]) -> Reply:
    closed = await close_report(ctx.session, int(args["id"]), ctx.now)
    return Reply.text(f"Report #{closed.id} closed.")
