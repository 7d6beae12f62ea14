"""The feed through the command layer, as console users: four follow each other, post, react,
comment and see activity items appear at milestones. Every privacy rule is asserted on what
users read (SQLite, and PostgreSQL when set), and the counts on the post rows on what is
stored."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bots.commands import Deps
from bots.notifications import render
from bots.reply import Reply
from core.clock import FakeClock
from core.storage.db import Database
from core.storage.models import Comment, Outbox, Post, Reaction
from tests.conftest import Say

FOUR = ("ann", "bob", "cat", "dan")


async def ok(say: Say, text: str, user: str = "ann", **kwargs: object) -> Reply:
    reply = await say(text, user=user, **kwargs)  # type: ignore[arg-type]
    assert not reply.error, f"{user}: {text!r} failed: {reply.plain()}"
    return reply


async def refused(say: Say, text: str, user: str = "ann", **kwargs: object) -> str:
    reply = await say(text, user=user, **kwargs)  # type: ignore[arg-type]
    assert reply.error, f"{user}: {text!r} was not refused: {reply.plain()}"
    assert "went wrong" not in reply.plain() and "Traceback" not in reply.plain()
    return reply.plain()


def actions(reply: Reply) -> list[str]:
    return [b.action.encode() for row in reply.buttons for b in row]


async def press(say: Say, reply: Reply, encoded: str, user: str, **kw: object) -> Reply:
    assert encoded in actions(reply), (encoded, actions(reply))
    command, _, args = encoded.partition("|")
    return await say(f"/{command} {args}".strip(), user=user, button=reply, **kw)  # type: ignore[arg-type]


async def post_id(reply: Reply) -> int:
    text = reply.plain()
    return int(text.split("#", 1)[1].split()[0])


@pytest.fixture
async def four(say: Say) -> Say:
    """Four users, each with a private chat, all following each other."""
    for name in FOUR:
        await ok(say, "/start", name)
    for a in FOUR:
        for b in FOUR:
            if a != b:
                await ok(say, f"/follow @{b}", a)
    return say


async def test_four_post_react_comment_and_see_activity(
    four: Say, db: Database, clock: FakeClock
) -> None:
    say = four
    made = await ok(say, "/post Day 1 of reading <b>before</b> bed @everyone", "ann")
    pid = await post_id(made)
    clock.advance(timedelta(minutes=1))
    await ok(say, "/post Bob runs", "bob")

    feed = await ok(say, "/feed", "cat")
    text = feed.plain()
    assert text.index("Bob runs") < text.index("Day 1")  # newest first
    assert "@ann" in text and "<b>before</b> bed @everyone" in text  # stored as typed
    assert f"react|{pid} like feed" in actions(feed)

    # Reactions toggle: a second press takes it back; counts on the row follow the rows.
    liked = await press(say, feed, f"react|{pid} like feed", "cat")
    assert "👍 1" in liked.plain() and "Your feed" in liked.plain()  # the same page again
    assert "🔥 added" in (await ok(say, f"/react {pid} 🔥", "dan")).plain()
    assert "taken back" in (await ok(say, f"/react {pid} fire", "dan")).plain()
    await ok(say, f"/react {pid} fire", "bob")
    shown = await ok(say, f"/post {pid}", "ann")
    assert "👍 1 🔥 1 💬 0" in shown.plain()
    assert "unpost|" + str(pid) in actions(shown)  # her own post: she may delete it

    await ok(say, f"/comment {pid} Keep going!", "bob")
    await ok(say, f"/comment {pid} Proud of you", "cat")
    shown = await ok(say, f"/post {pid}", "dan")
    assert "💬 2" in shown.plain() and "Keep going!" in shown.plain()
    assert "Proud of you" in shown.plain() and "unpost|" + str(pid) not in actions(shown)

    async with db.session() as session:
        post = await session.get(Post, pid)
        assert post is not None and (post.likes, post.fires, post.comments) == (1, 1, 2)
        assert await session.scalar(select(func.count()).select_from(Reaction)) == 2
        # Ann hears once for the hour: reactions and comments in one message.
        [row] = list(await session.scalars(select(Outbox).where(Outbox.kind == "feed_news")))
    told = render(row.kind, row.data).plain()
    assert "1 person reacted 👍" in told and "1 person reacted 🔥" in told
    assert "@bob, @cat commented (2 comments)" in told
    assert row.not_before == clock.now().replace(minute=0) + timedelta(hours=1)

    # Activity: a 3-day streak on a public habit makes an item; later events fold into it.
    await ok(say, "/habit add Read", "dan")
    await ok(say, "/habit edit Read visibility=public", "dan")
    for day in range(3):
        await ok(say, "/done Read", "dan")
        if day < 2:
            clock.advance(timedelta(days=1))
    feed = await ok(say, "/feed", "ann")
    assert "@dan" in feed.plain() and "reached a 3-day streak on Read" in feed.plain()
    async with db.session() as session:
        items = list(await session.scalars(select(Post).where(Post.kind == "activity")))
    assert len(items) == 1

    # Activity off: no more items.
    await ok(say, "/settings activity=off", "dan")
    for _ in range(4):
        clock.advance(timedelta(days=1))
        await ok(say, "/done Read", "dan")
    async with db.session() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(Post).where(Post.kind == "activity")
            )
            == 1
        )


async def test_privacy_blocks_groups_and_deleted_users(four: Say, db: Database) -> None:
    say = four
    await ok(say, "/start", "eve")  # follows no one, nobody follows her
    await ok(say, "/settings profile=private", "cat")
    cat = await post_id(await ok(say, "/post Cat's secret", "cat"))
    # A private profile's items reach only its followers.
    assert "Cat's secret" in (await ok(say, "/feed", "ann")).plain()
    assert "Cat's secret" not in (await ok(say, "/feed", "eve")).plain()
    assert "There is no post" in await refused(say, f"/post {cat}", "eve")
    assert "There is no post" in await refused(say, f"/react {cat} like", "eve")
    assert "There is no post" in await refused(say, f"/comment {cat} hi", "eve")

    # Group posts: only the group's members see them; a member's public items show to mates.
    for name in ("ann", "eve"):
        await ok(say, "/start", name, group="gym")
    gym = await post_id(await ok(say, "/post Gym at 7", "ann", group="gym"))
    assert "Gym at 7" in (await ok(say, "/feed", "eve")).plain()
    assert "Gym at 7" not in (await ok(say, "/feed", "bob")).plain()
    assert "Gym at 7" in (await ok(say, "/feed", "eve", group="gym")).plain()
    ann_own = await post_id(await ok(say, "/post Ann's own", "ann"))
    assert "Ann's own" in (await ok(say, "/feed", "eve")).plain()  # a mate, public profile
    group_feed = (await ok(say, "/feed", "eve", group="gym")).plain()
    assert "Ann's own" in group_feed and "Cat's secret" not in group_feed
    # Eve may not delete Ann's post; a group admin may delete the group's post.
    assert "only your own" in await refused(say, f"/unpost {ann_own}", "eve")
    assert "only your own" in await refused(say, f"/unpost {gym}", "eve", group="gym")
    assert "deleted" in (await ok(say, f"/unpost {gym}", "eve", group="gym", admin=True)).plain()
    assert "There is no post" in await refused(say, f"/comment {gym} late", "ann")

    # Blocks: neither sees the other's items.
    await ok(say, "/block @ann", "bob")
    assert "Ann's own" not in (await ok(say, "/feed", "bob")).plain()
    assert "There is no post" in await refused(say, f"/post {ann_own}", "bob")
    bob = await post_id(await ok(say, "/post Bob here", "bob"))
    assert "Bob here" not in (await ok(say, "/feed", "ann")).plain()
    assert "There is no post" in await refused(say, f"/react {bob} like", "ann")

    # /export carries what Dan wrote and how he reacted.
    await ok(say, f"/react {ann_own} heart", "dan")
    await ok(say, f"/comment {ann_own} nice", "dan")
    await ok(say, "/post Dan's day", "dan")
    exported = await ok(say, "/export", "dan")
    data = json.loads(exported.files[0].data)
    assert [p["text"] for p in data["posts"]] == ["Dan's day"]
    assert data["comments"][0]["text"] == "nice" and data["reactions"][0]["emoji"] == "heart"
    # A deleted user's items disappear, and their reactions leave the counts.
    await say.confirmed("/deleteme", user="dan")
    async with db.session() as session:
        post = await session.get(Post, ann_own)
        assert post is not None and (post.hearts, post.comments) == (0, 0)
        assert await session.scalar(select(func.count()).select_from(Comment)) == 0
        assert "Dan's day" not in [p.text for p in await session.scalars(select(Post))]


async def test_bad_input_is_refused_clearly(four: Say, db: Database) -> None:
    say = four
    assert "Missing text" in await refused(say, "/post    ")
    assert "empty" in await refused(say, "/post \x00\x01")
    assert "at most 1000" in await refused(say, "/post " + "x" * 10_000)
    assert "at most 1000" in await refused(say, "/post " + "y" * 1001)
    pid = await post_id(await ok(say, "/post hello"))
    assert "Reactions are" in await refused(say, f"/react {pid} 🤡", "bob")
    assert "does not exist" in await refused(say, "/feed zz-forged")
    for forged in ("oFFFFFFFFFFFFFF.1", "n0.0", "o1.fffffffffffff"):  # well formed, far off
        assert "went wrong" not in (await say(f"/feed {forged}")).plain()
    assert "There is no post #999" in await refused(say, "/post 999")
    assert "no comment" in await refused(say, "/uncomment c999")
    assert "does not exist" in await refused(say, f"/react {pid} like feed:%%")
    assert "not valid any more" in await refused(say, f"/react {pid} like elsewhere")
    async with db.session() as session:  # nothing half-written
        assert await session.scalar(select(func.count()).select_from(Post)) == 1
        assert await session.scalar(select(func.count()).select_from(Reaction)) == 0


async def test_two_racing_taps_leave_one_row_or_none(four: Say, db: Database) -> None:
    say = four
    pid = await post_id(await ok(say, "/post race me"))
    await asyncio.gather(*(say(f"/react {pid} fire", user="bob") for _ in range(2)))
    await asyncio.gather(*(say(f"/react {pid} like", user=u) for u in ("bob", "cat", "dan")))
    async with db.session() as session:
        post = await session.get(Post, pid)
        rows = await session.scalar(
            select(func.count()).select_from(Reaction).where(Reaction.emoji == "fire")
        )
        assert post is not None and post.fires == rows and rows in (0, 1)
        assert post.likes == 3


async def test_paging_is_stable_while_people_post(four: Say, clock: FakeClock) -> None:
    say = four
    for i in range(25):
        await ok(say, f"/post item {i:02d}", FOUR[i % 4])
        clock.advance(timedelta(seconds=1))
    first = await ok(say, "/feed", "ann")
    assert "item 24" in first.plain() and "item 15" in first.plain()
    await ok(say, "/post a new one while paging", "bob")
    older = next(a for a in actions(first) if a.startswith("feed|o"))
    second = await press(say, first, older, "ann")
    seen = [f"item {i:02d}" for i in range(5, 15)]
    assert all(s in second.plain() for s in seen) and "item 15" not in second.plain()
    assert "item 04" not in second.plain()
    newer = next(a for a in actions(second) if a.startswith("feed|n"))
    back = await press(say, second, newer, "ann")
    assert back.plain().count("item ") == 10 and "item 24" in back.plain()  # the same page
    top = await press(say, back, next(a for a in actions(back) if a.startswith("feed|n")), "ann")
    assert "a new one while paging" in top.plain() and top.plain().count("item ") == 9
    third = await press(
        say, second, next(a for a in actions(second) if a.startswith("feed|o")), "ann"
    )
    assert "item 00" in third.plain() and not any(a.startswith("feed|o") for a in actions(third))


async def test_merge_keeps_posts_and_counts_reactions_once(
    four: Say, db: Database, deps: Deps
) -> None:
    say = four
    pid = await post_id(await ok(say, "/post merge me", "ann"))
    await ok(say, f"/react {pid} fire", "bob")
    await ok(say, "/start", "bob2")
    await ok(say, f"/react {pid} fire", "bob2")
    await ok(say, "/post from bob2", "bob2")
    found = re.search(r"code: (\d{6})", (await ok(say, "/link", "bob")).plain())
    assert found is not None
    assert "Linked" in (await ok(say, f"/link {found[1]}", "bob2")).plain()
    async with db.session() as session:
        post = await session.get(Post, pid)
        reactions = await session.scalar(
            select(func.count()).select_from(Reaction).where(Reaction.post_id == pid)
        )
        assert post is not None and post.fires == reactions == 1  # the person's one 🔥
        assert await session.scalar(select(func.count()).select_from(Post)) == 2
    assert "from bob2" in (await ok(say, "/feed", "ann")).plain()  # Ann follows the person


async def test_alerts_muted_and_hourly(four: Say, db: Database, clock: FakeClock) -> None:
    say = four
    pid = await post_id(await ok(say, "/post quiet please", "bob"))
    await ok(say, "/settings feed_alerts=off", "bob")
    await ok(say, f"/react {pid} party", "ann")
    ann = await post_id(await ok(say, "/post tell me", "ann"))
    await ok(say, f"/react {ann} party", "ann")  # her own reaction is no news
    await ok(say, f"/react {ann} party", "bob")
    await ok(say, f"/react {ann} party", "bob")  # taken back before the hour was out
    async with db.session() as session:
        assert not list(await session.scalars(select(Outbox).where(Outbox.kind == "feed_news")))
    await ok(say, f"/react {ann} heart", "cat")
    clock.advance(timedelta(hours=1))
    await ok(say, f"/comment {ann} an hour later", "dan")
    async with db.session() as session:
        rows = list(
            await session.scalars(
                select(Outbox).where(Outbox.kind == "feed_news").order_by(Outbox.id)
            )
        )
    assert len(rows) == 2 and rows[1].not_before - rows[0].not_before == timedelta(hours=1)
    assert "1 person reacted ❤️" in render(rows[0].kind, rows[0].data).plain()
    assert "@dan commented" in render(rows[1].kind, rows[1].data).plain()
