"""/post, /comment, /feed, /react, /unpost, /uncomment: the feed (core/social/feed.py) and
what people say in it. In a group chat /post and /feed act on that group."""

from __future__ import annotations

import re
from typing import Any

from bots.commands.context import Ctx
from bots.commands.people import who
from bots.commands.registry import Arg, command
from bots.commands.usage import cmd
from bots.reply import Action, Button, Reply, Span, bold, italic
from core.clock import local_now
from core.errors import InvalidInput
from core.social.feed import Cursor, FeedPage, Item, feed_page, parse_cursor
from core.social.posts import (
    MAX_POST,
    add_comment,
    comment_page,
    delete_comment,
    delete_post,
    publish,
    visible_post,
)
from core.social.reactions import EMOJI, counts, reaction_code, toggle
from core.storage.models import Post, User

POST_ID = Arg("post", "the post's number, e.g. 12", "int", required=True, min=1, max=2**53)
_SHOW = re.compile(r"^#?([0-9]{1,15})(?:\s+([0-9]{1,4}))?$")
_VIEW = re.compile(r"^(feed|post)(?::(.{1,40}))?$")


def _when(ctx: Ctx, post: Post | Any) -> str:
    zone = ctx.group.timezone if ctx.group is not None else ctx.user.timezone
    return local_now(post.created_at, zone).strftime("%d %b %H:%M")


def activity_text(post: Post) -> str:
    parts = []
    for event in (post.data or {}).get("events", []):
        kind = event.get("kind")
        if kind == "streak":
            habit = f" on {event['habit']}" if event.get("habit") else ""
            parts.append(f"🔥 reached a {event.get('days')}-day streak{habit}")
        elif kind == "joined":
            parts.append(f"🏁 joined the challenge {event.get('challenge')}")
        elif kind == "finished":
            parts.append(f"✅ finished the challenge {event.get('challenge')}")
        elif kind == "won":
            parts.append(f"🏆 won the challenge {event.get('challenge')}")
    return " · ".join(parts) or "was active"


def _tally(post: Post) -> str:
    shown = [f"{EMOJI[c][0]} {n}" for c, n in counts(post).items() if n]
    return " ".join([*shown, f"💬 {post.comments}", f"· #{post.id}"])


def _item(ctx: Ctx, reply: Reply, post: Post, author: User) -> None:
    reply.add(bold(who(author)), f" · {_when(ctx, post)}")
    if post.kind == "activity":
        reply.add(italic(activity_text(post)))
    else:
        reply.add(Span(post.text or ""))
    reply.add(_tally(post))


# ------------------------------------------------------------------------------ the feed


def _feed_reply(ctx: Ctx, page: FeedPage, here: str) -> Reply:
    where = f"The feed of {ctx.group.title}" if ctx.group is not None else "Your feed"
    if not page.items:
        if ctx.group is not None:
            return Reply.text(
                f"Nothing in the feed of {ctx.group.title} yet. ", cmd("post", "<text>"), "."
            )
        return Reply.text(
            "Your feed is empty. ", cmd("post", "<text>"), " says something; ",
            cmd("people"), " finds people to follow.",
        )  # fmt: skip
    reply = Reply.text(bold(where))
    view = f"feed:{here}" if here else "feed"
    for item in page.items:
        reply.blank()
        _item(ctx, reply, item.post, item.author)
        pid = item.post.id
        reply.button_row(
            Button(f"👍 #{pid}", Action("react", f"{pid} like {view}")),
            Button(f"💬 #{pid}", Action("post", str(pid))),
        )
    nav = []
    if page.newer is not None:
        nav.append(Button("⬅️ Newer", Action("feed", page.newer.encode())))
    if page.older is not None:
        nav.append(Button("Older ➡️", Action("feed", page.older.encode())))
    reply.button_row(*nav)
    reply.shared = ctx.group is not None  # a group's feed: anyone there pages and reacts
    return reply


async def _feed(ctx: Ctx, here: str) -> Reply:
    cursor = parse_cursor(here) if here else None
    group_id = ctx.group.id if ctx.group is not None else None
    page = await feed_page(ctx.session, ctx.user.id, group_id, cursor)
    # What a page button reopens after a reaction: this page, from where it starts.
    start = _start_of(page.items[0]) if cursor is not None and page.items else ""
    return _feed_reply(ctx, page, start)


def _start_of(item: Item) -> str:
    """A cursor that reopens a page starting with `item`: older than just after it."""
    return Cursor("older", item.post.created_at, item.post.id + 1).encode()


@command(
    "feed",
    "Posts and activity from people you follow, your groups and you (in a group: the group's)",
    Arg("page", "where to go on (the ⬅️ ➡️ buttons carry it)", "word", max_length=40),
    group=True,
    details=(
        "Newest first, 10 a page. Pages are stable: a post published while you page does not "
        "repeat or skip an item.",
    ),
)
async def feed(ctx: Ctx, args: dict[str, Any]) -> Reply:
    return await _feed(ctx, args.get("page", ""))


# ------------------------------------------------------------------------------ posts


async def _show(ctx: Ctx, post_id: int, page: int = 1) -> Reply:
    shown = await visible_post(ctx.session, ctx.user.id, post_id)
    post, author = shown.post, shown.author
    found = await comment_page(ctx.session, ctx.user.id, post, page)
    if page > found.pages:
        raise InvalidInput(f"Post #{post_id} has {found.pages} page(s) of comments.")
    reply = Reply()
    _item(ctx, reply, post, author)
    if found.items:
        reply.add(bold(f"Comments (page {found.page}/{found.pages})"))
        for comment, commenter in found.items:
            reply.bullet(
                bold(who(commenter)), f" · {_when(ctx, comment)}: ", Span(comment.text),
                f" (c{comment.id})",
            )  # fmt: skip
    else:
        reply.add("No comments yet: ", cmd("comment", post_id, "<text>"), ".")
    view = f"post:{page}" if page > 1 else "post"
    reply.button_row(
        *(
            Button(f"{e} {n}" if n else e, Action("react", f"{post_id} {c} {view}"))
            for (c, (e, _)), n in zip(EMOJI.items(), counts(post).values(), strict=True)
        )
    )
    tools = [Button("💬 Comment", Action("comment", str(post_id)), ask="Your comment")]
    mine = post.author_id == ctx.user.id
    if mine or (ctx.is_admin and ctx.group is not None and post.group_id == ctx.group.id):
        tools.append(Button("🗑 Delete", Action("unpost", str(post_id))))
    reply.button_row(*tools)
    own = [c for c, u in found.items if u.id == ctx.user.id]
    reply.button_row(*(Button(f"🗑 c{c.id}", Action("uncomment", str(c.id))) for c in own[:5]))
    nav = []
    if page > 1:
        nav.append(Button("◀ Comments", Action("post", f"{post_id} {page - 1}")))
    if page < found.pages:
        nav.append(Button("Comments ▶", Action("post", f"{post_id} {page + 1}")))
    reply.button_row(*nav)
    # Someone's own item seen in a group is theirs to see there; the group sees group posts.
    reply.private = ctx.group is not None and post.group_id != ctx.group.id
    reply.shared = not reply.private and ctx.group is not None
    return reply


@command(
    "post",
    f"Post to your followers and groups (in a group: to it), at most {MAX_POST:,} characters",
    Arg("text", "what to say; or a post's number to show it with its comments", "text",
        required=True, max_length=MAX_POST),
    examples=("/post Day 10 of reading before bed!", "/post 1"),
    group=True,
    details=(
        "A number alone shows that post and its comments (/post 12 2: their second page).",
        "Posted in a group chat, it goes to that group's feed only.",
    ),
)  # fmt: skip
async def post(ctx: Ctx, args: dict[str, Any]) -> Reply:
    text = args["text"]
    if found := _SHOW.match(text.strip()):
        return await _show(ctx, int(found[1]), int(found[2] or 1))
    made = await publish(ctx.session, ctx.user, text, ctx.group, ctx.now)
    where = f"to the feed of {ctx.group.title}" if ctx.group is not None else "to your followers"
    return Reply.text(f"📣 Posted #{made.id} {where}.").button_row(
        Button("👀 Show", Action("post", str(made.id))), Button("📰 Feed", Action("feed"))
    )


@command(
    "comment",
    "Comment on a post",
    POST_ID,
    Arg("text", "your comment", "text", required=True, max_length=MAX_POST),
    examples=("/comment 1 Well done!",),
    group=True,
)
async def comment(ctx: Ctx, args: dict[str, Any]) -> Reply:
    shown, made = await add_comment(ctx.session, ctx.user, int(args["post"]), args["text"], ctx.now)
    return Reply.text(f"💬 Comment c{made.id} added to post #{shown.post.id}.").button_row(
        Button(f"👀 #{shown.post.id}", Action("post", str(shown.post.id)))
    )


@command(
    "react",
    "React to a post: 👍 🔥 💪 🎉 ❤️ (again takes it back)",
    POST_ID,
    Arg("emoji", "like, fire, muscle, party or heart (or the emoji)", "word", required=True,
        max_length=16),
    Arg("view", "what to show after (buttons set it)", "word", max_length=48),
    examples=("/react 1 fire",),
    group=True,
)  # fmt: skip
async def react(ctx: Ctx, args: dict[str, Any]) -> Reply:
    code = reaction_code(args["emoji"])
    view = _VIEW.match(args.get("view", "").strip()) if args.get("view") else None
    if args.get("view") and view is None:
        raise InvalidInput("That button is not valid any more; {} shows the feed.", ("feed",))
    if view is not None and view[1] == "feed" and view[2]:
        parse_cursor(view[2])  # a forged page is refused before anything is written
    done = await toggle(ctx.session, ctx.user, int(args["post"]), code, ctx.now)
    if view is not None and view[1] == "feed":
        return await _feed(ctx, view[2] or "")
    if view is not None:
        page = int(view[2]) if view[2] and re.fullmatch(r"[0-9]{1,4}", view[2]) else 1
        return await _show(ctx, done.post_id, page)
    said = "added to" if done.added else "taken back from"
    tally = " ".join(f"{EMOJI[c][0]} {n}" for c, n in done.counts.items() if n) or "no reactions"
    return Reply.text(f"{EMOJI[code][0]} {said} #{done.post_id}: {tally}.")


@command(
    "unpost",
    "Delete a post of yours (admins: any in their group)",
    POST_ID,
    examples=("/unpost 1",),
    group=True,
)
async def unpost(ctx: Ctx, args: dict[str, Any]) -> Reply:
    gone = await delete_post(ctx.session, ctx.user, int(args["post"]), ctx.group, ctx.is_admin)
    return Reply.text(f"🗑 Post #{gone.id} deleted, with its reactions and comments.")


@command(
    "uncomment",
    "Delete a comment of yours (admins: any in their group)",
    Arg("comment", "the comment's number, e.g. 5 (shown as c5)", "word", required=True,
        max_length=20),
    examples=("/uncomment c1",),
    group=True,
)  # fmt: skip
async def uncomment(ctx: Ctx, args: dict[str, Any]) -> Reply:
    raw = args["comment"].strip().lower().removeprefix("c")
    if not re.fullmatch(r"[0-9]{1,15}", raw):
        raise InvalidInput("Name the comment by its number, e.g. c5.")
    gone = await delete_comment(ctx.session, ctx.user, int(raw), ctx.group, ctx.is_admin)
    return Reply.text(f"🗑 Comment c{gone.id} deleted.")
