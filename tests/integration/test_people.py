"""People through the command layer, as console users: four of them follow each other, one
goes private and approves a request, one blocks another; every privacy rule is asserted on
what the users read, and on what was stored (SQLite, and PostgreSQL when set)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bots.commands import Deps
from bots.notifications import render
from bots.reply import Reply
from core.clock import FakeClock
from core.storage.db import Database
from core.storage.models import Follow, Outbox, Report, User
from tests.conftest import Say

FOUR = ("ann", "bob", "cat", "dan")


@pytest.fixture
def say(db: Database, clock: FakeClock) -> Say:
    """`boss` is the bot's operator (OPERATORS=console:boss)."""
    return Say(Deps(db, clock, operators=frozenset({"console:boss"})))


async def ok(say: Say, text: str, user: str = "ann", **kwargs: object) -> Reply:
    reply = await say(text, user=user, **kwargs)  # type: ignore[arg-type]
    assert not reply.error, f"{user}: {text!r} failed: {reply.plain()}"
    return reply


async def refused(say: Say, text: str, user: str = "ann") -> str:
    reply = await say(text, user=user)
    assert reply.error, f"{user}: {text!r} was not refused: {reply.plain()}"
    assert "went wrong" not in reply.plain() and "Traceback" not in reply.plain()
    return reply.plain()


def actions(reply: Reply) -> list[str]:
    return [b.action.encode() for row in reply.buttons for b in row]


async def press(say: Say, reply: Reply, encoded: str, user: str) -> Reply:
    """Press the button whose action is `encoded`, as the console does (its action typed)."""
    assert encoded in actions(reply), (encoded, actions(reply))
    command, _, args = encoded.partition("|")
    return await say(f"/{command} {args}".strip(), user=user)


@pytest.fixture
async def four(say: Say) -> Say:
    """Four users who opened a private chat and share the group "gym"; Ann has a public habit
    (Read, done today) and a private one (Smoking), and a bio."""
    for name in FOUR:
        await ok(say, "/start", name)
        await ok(say, "/start", name, group="gym")
    await ok(say, "/habit add Read", "ann")
    await ok(say, "/habit add Smoking kind=quit", "ann")
    await ok(say, "/habit edit Read visibility=public", "ann")
    await ok(say, "/done Read", "ann")
    await ok(say, "/bio Reading every night", "ann")
    return say


async def news(db: Database, user: str) -> list[Outbox]:
    async with db.session() as session:
        uid = await session.scalar(select(User.id).where(User.handle == user))
        rows = await session.scalars(select(Outbox).where(Outbox.kind == "followers"))
        return [r for r in rows if r.data["user_id"] == uid]


# ------------------------------------------------------------------------ the four of them


async def test_four_people_follow_one_goes_private_one_blocks(
    four: Say, db: Database, clock: FakeClock
) -> None:
    say = four
    # Bob, Cat and Dan follow Ann; Ann follows Bob back.
    for name in ("bob", "cat", "dan"):
        assert "You follow @ann now" in (await ok(say, "/follow @ann", name)).plain()
    await ok(say, "/follow @bob", "ann")
    followers = (await ok(say, "/followers", "ann")).plain()
    assert "Your followers: 3" in followers and all(f"@{n}" in followers for n in FOUR[1:])
    assert "You follow 1" in (await ok(say, "/following", "ann")).plain()

    # Ann is told once, in one message for the hour naming all three, sent at the hour's end.
    [row] = await news(db, "ann")
    assert row.not_before == clock.now().replace(minute=0) + timedelta(hours=1)
    assert row.chat == "ann" and row.platform == "console"
    told = render(row.kind, row.data).plain()
    assert "3 new followers: @bob, @cat, @dan" in told

    # Ann's profile as Bob sees it: everything public, and only the public habit.
    seen = await ok(say, "/profile @ANN", "bob")
    text = seen.plain()
    assert "@ann — Ann" in text and "Reading every night" in text and "Member since" in text
    assert "Read (1 day)" in text and "Smoking" not in text
    assert "3 followers · 1 following" in text and "Best current streak: 1 day" in text
    assert actions(seen) == ["unfollow|@ann", "report|@ann"]

    # Cat goes private. Bob (not a follower) sees only her handle; Dan asks to follow.
    await ok(say, "/bio Cat's secret plans", "cat")
    await ok(say, "/settings profile=private", "cat")
    for name in ("bob", "dan"):
        hidden = await ok(say, "/profile @cat", name)
        assert hidden.plain().splitlines()[0] == "@cat"
        assert "private" in hidden.plain() and "secret" not in hidden.plain()
        assert "Member since" not in hidden.plain() and "follower" not in hidden.plain()
        assert actions(hidden) == ["follow|@cat", "report|@cat"]
    asked = await ok(say, "/follow @cat", "dan")
    assert "asked them to approve you" in asked.plain()
    assert "secret" not in (await ok(say, "/profile @cat", "dan")).plain()
    [request] = await news(db, "cat")
    assert "@dan asks to follow you" in render(request.kind, request.data).plain()
    assert "0 followers" in (await ok(say, "/profile", "cat")).plain()  # a request isn't one

    # Cat approves with the button on her /requests list; Dan now sees everything, Bob not.
    waiting = await ok(say, "/requests", "cat")
    assert "@dan — Dan" in waiting.plain() and "decline|@dan" in actions(waiting)
    assert "@cat\n" in (await ok(say, "/followers", "ann")).plain() + "\n"  # no name: private
    approved = await press(say, waiting, "approve|@dan", "cat")
    assert "@dan follows you now" in approved.plain()
    assert "secret" in (await ok(say, "/profile @cat", "dan")).plain()
    assert "secret" not in (await ok(say, "/profile @cat", "bob")).plain()
    assert "No one is waiting" in (await ok(say, "/requests", "cat")).plain()
    assert not await news(db, "cat")  # the request was answered before the message went out
    async with db.session() as session:
        accepted = await session.scalars(select(Outbox).where(Outbox.kind == "follow_accepted"))
        [row] = list(accepted)
    assert "@cat accepted your request" in render(row.kind, row.data).plain()

    # Ann blocks Dan: neither sees the other; Dan is not told; follows between them end.
    blocked = await ok(say, "/block @dan", "ann")
    assert "Blocked @dan" in blocked.plain()
    [row] = await news(db, "ann")  # the hour's message waiting for Ann no longer names Dan
    assert "2 new followers: @bob, @cat." in render(row.kind, row.data).plain()
    assert "No one is called @ann." == await refused(say, "/profile @ann", "dan")
    assert "No one is called @ann." == await refused(say, "/follow @ann", "dan")
    assert "@ann" not in await refused(say, "/profile @an", "dan")  # not even as a close match
    assert "you blocked @dan" in (await ok(say, "/profile @dan", "ann")).plain()
    assert "2 followers" in (await ok(say, "/profile", "ann")).plain()
    assert "@dan" not in (await ok(say, "/followers", "ann")).plain()
    for viewer, other in (("ann", "@dan"), ("dan", "@ann")):
        assert other not in (await ok(say, "/people", viewer)).plain()
    assert "@dan" in (await ok(say, "/blocked", "ann")).plain()
    assert "You blocked @dan" in await refused(say, "/follow @dan", "ann")
    async with db.session() as session:
        dan = await session.scalar(select(User.id).where(User.handle == "dan"))
        to_dan = await session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(Outbox.chat == "dan", Outbox.kind != "follow_accepted")
        )
        assert to_dan == 0  # silent for Dan: only Cat's acceptance went to him
        assert (
            await session.scalar(
                select(func.count()).select_from(Follow).where(Follow.follower_id == dan)
            )
            == 1
        )  # Dan -> Cat stays; Dan -> Ann is gone

    # Unblocking makes them visible again, without restoring the follow.
    await ok(say, "/unblock @dan", "ann")
    assert "Reading every night" in (await ok(say, "/profile @ann", "dan")).plain()
    assert "follow|@ann" in actions(await ok(say, "/profile @ann", "dan"))


async def test_making_a_profile_public_again_lets_waiting_requests_in(four: Say) -> None:
    say = four
    await ok(say, "/settings profile=private", "ann")
    await ok(say, "/follow @ann", "bob")
    await ok(say, "/follow @ann", "cat")
    reply = await ok(say, "/settings profile=public", "ann")
    assert "2 waiting requests accepted" in reply.plain()
    assert "Your followers: 2" in (await ok(say, "/followers", "ann")).plain()


async def test_withdrawing_a_follow_takes_it_out_of_the_news(four: Say, db: Database) -> None:
    say = four
    await ok(say, "/follow @ann", "bob")
    await ok(say, "/follow @ann", "cat")
    assert "no longer follow @ann" in (await ok(say, "/unfollow @ann", "bob")).plain()
    [row] = await news(db, "ann")
    assert "1 new follower: @cat." in render(row.kind, row.data).plain()
    await ok(say, "/unfollow @ann", "cat")
    assert not await news(db, "ann")
    assert "don't follow @ann" in await refused(say, "/unfollow @ann", "cat")


async def test_followers_are_paginated_with_buttons(say: Say, clock: FakeClock) -> None:
    await ok(say, "/start", "ann")
    for i in range(12):
        await ok(say, "/follow @ann", f"fan{i:02d}")
        clock.advance(timedelta(minutes=1))  # newest first: fan11 leads
    first = await ok(say, "/followers", "ann")
    assert "Your followers: 12 (page 1/2)" in first.plain()
    assert "followers|2" in actions(first) and "profile|@fan11" in actions(first)
    second = await press(say, first, "followers|2", "ann")
    assert "(page 2/2)" in second.plain() and "followers|1" in actions(second)
    assert "@fan00" in second.plain() and "@fan11" not in second.plain()
    assert "There is no page 3" in await refused(say, "/followers 3", "ann")


# ------------------------------------------------------------------------ discovery


async def test_people_suggests_mates_first_then_active_public_profiles(
    say: Say, clock: FakeClock
) -> None:
    await ok(say, "/start", "old")  # active 40 days ago: not suggested
    clock.advance(timedelta(days=40))
    for name in ("ann", "bob", "cat", "eve", "zed"):
        await ok(say, "/start", name)
    await ok(say, "/start", "ann", group="gym")
    await ok(say, "/start", "bob", group="gym")
    await ok(say, "/start", "ann", group="book club")
    await ok(say, "/start", "bob", group="book club")
    await ok(say, "/start", "cat", group="gym")
    await ok(say, "/settings profile=private", "zed")  # private, shares nothing: not suggested
    reply = await ok(say, "/people", "ann")
    lines = reply.plain().splitlines()[1:]
    assert [line.split()[1] for line in lines] == ["@bob", "@cat", "@eve"]
    assert "2 in common" in lines[0] and "active lately" in lines[2]
    assert "follow|@bob" in actions(reply) and "profile|@eve" in actions(reply)
    await ok(say, "/follow @bob", "ann")
    assert "@bob" not in (await ok(say, "/people", "ann")).plain()  # followed: not suggested


async def test_people_pages(say: Say) -> None:
    for i in range(14):
        await ok(say, "/start", f"p{i:02d}")
    first = await ok(say, "/people", "p00")
    assert len(first.plain().splitlines()) == 11 and "people|2" in actions(first)
    second = await press(say, first, "people|2", "p00")
    assert len(second.plain().splitlines()) == 4 and "people|3" not in actions(second)
    shown = set(first.plain().split()) & set(second.plain().split())
    assert not {w for w in shown if w.startswith("@")}  # nobody twice
    assert "No more suggestions" in await refused(say, "/people 3", "p00")


# ------------------------------------------------------------------------ reports, operators


async def test_reports_count_once_and_operators_close_them(four: Say, db: Database) -> None:
    say = four
    asking = await ok(say, "/report @ann", "bob")  # the Report button: asks why
    assert "report|@ann spam" in actions(asking)
    received = await press(say, asking, "report|@ann spam", "bob")
    assert "your report about @ann was received" in received.plain()
    again = await ok(say, "/report @ann she spams again", "bob")
    assert "reported @ann already" in again.plain()
    await ok(say, "/report @ann impersonation", "cat")
    async with db.session() as session:
        reports = list(await session.scalars(select(Report).order_by(Report.id)))
    assert len(reports) == 2 and reports[0].reason == "spam"
    assert reports[0].snapshot["bio"] == "Reading every night"
    assert reports[0].snapshot["public_habits"] == ["Read"]

    # Only the operator has /reports; to anyone else it is an unknown command.
    assert "Unknown command /reports" in await refused(say, "/reports", "bob")
    listed = await ok(say, "/reports", "boss")
    assert "Open reports: 2" in listed.plain() and "@ann by @bob" in listed.plain()
    closed = await press(say, listed, f"reports close|{reports[0].id}", "boss")
    assert f"Report #{reports[0].id} closed" in closed.plain()
    assert "closed already" in await refused(say, f"/reports close {reports[0].id}", "boss")
    assert "Open reports: 1" in (await ok(say, "/reports", "boss")).plain()
    # Closed, Bob may report her again.
    assert "was received" in (await ok(say, "/report @ann spam", "bob")).plain()
    assert "can't report yourself" in await refused(say, "/report @ann spam", "ann")


async def test_verification_is_for_operators_only(four: Say) -> None:
    say = four
    for typed in ("/verify @ann", "/unverify @ann"):
        assert "Unknown command" in await refused(say, typed, "bob")
    assert "/verify" not in (await ok(say, "/help", "bob")).plain()
    assert "/verify" not in await refused(say, "/verif @ann", "bob")  # not even suggested
    assert "/verify" in (await ok(say, "/help", "boss")).plain()
    assert "@ann ✔ is verified now" in (await ok(say, "/verify @ann", "boss")).plain()
    assert (await ok(say, "/profile @ann", "bob")).plain().startswith("@ann ✔")
    await ok(say, "/settings profile=private", "ann")
    assert (await ok(say, "/profile @ann", "cat")).plain().splitlines()[0] == "@ann ✔"
    assert "is verified already" in await refused(say, "/verify @ann", "boss")
    await ok(say, "/unverify @ann", "boss")
    assert "✔" not in (await ok(say, "/profile @ann", "cat")).plain()


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("/follow @", "Name someone by their handle"),
        ("/follow @nobody", "No one is called @nobody."),
        ("/follow @bobb", "Did you mean @bob?"),
        ("/follow <b>bob</b>", "That is not a handle"),
        ("/follow @bo\x07b", "That is not a handle"),
        ("/follow @ann", "can't follow yourself"),
        ("/block @ann", "can't block yourself"),
        ("/unblock @bob", "have not blocked @bob"),
        ("/approve @bob", "has not asked to follow you"),
        ("/follow", "Missing person"),
        ("/bio " + "x" * 10_000, "at most 160"),
        ("/bio " + "x" * 161, "at most 160"),
        ("/profile @" + "a" * 60, "at most 40"),
    ],
)
async def test_bad_input_gets_a_clear_reply(four: Say, typed: str, expected: str) -> None:
    assert expected in await refused(four, typed, "ann")


async def test_following_twice_and_blocking_twice(four: Say) -> None:
    await ok(four, "/follow @bob", "ann")
    assert "already follow @bob" in await refused(four, "/follow @BOB", "ann")
    await ok(four, "/settings profile=private", "cat")
    await ok(four, "/follow @cat", "ann")
    assert "not answered yet" in await refused(four, "/follow @cat", "ann")
    await ok(four, "/block @dan", "ann")
    assert "blocked @dan already" in await refused(four, "/block @dan", "ann")


async def test_bio_is_stored_clean_and_shown_as_typed(four: Say, db: Database) -> None:
    await ok(four, "/bio <b>bold</b>  and\x01 *stars*", "bob")
    async with db.session() as session:
        bio = await session.scalar(select(User.bio).where(User.handle == "bob"))
    assert bio == "<b>bold</b> and *stars*"  # markup is escaped by each adapter when shown
    assert bio in (await ok(four, "/profile @bob", "ann")).plain()
    await ok(four, "/bio -", "bob")
    assert "<b>" not in (await ok(four, "/profile @bob", "ann")).plain()


async def test_habits_are_private_until_made_public(four: Say) -> None:
    assert "Smoking" not in (await ok(four, "/profile @ann", "bob")).plain()
    mine = (await ok(four, "/profile", "ann")).plain()
    assert "/settings profile=private makes it private" in mine
    assert "show one: /habit edit Smoking visibility=public" in mine
    edited = await ok(four, "/habit edit Smoking visibility=public", "ann")
    assert "public" in edited.plain()
    assert "Smoking (0 clean days)" in (await ok(four, "/profile @ann", "bob")).plain()
    await ok(four, "/habit edit Smoking visibility=private", "ann")
    assert "Smoking" not in (await ok(four, "/profile @ann", "bob")).plain()


async def test_a_profile_shows_running_public_challenges_only(four: Say) -> None:
    await ok(four, "/challenge new Move Week days=7 habits=Walk", "ann")
    await ok(four, "/challenge new Secret Club days=7 habits=Walk private", "ann")
    text = (await ok(four, "/profile @ann", "bob")).plain()
    assert "Challenges: Move Week" in text and "Secret" not in text


async def test_a_profile_asked_in_a_group_is_answered_privately(four: Say) -> None:
    reply = await ok(four, "/profile @ann", "bob", group="gym")
    assert reply.private and "Reading every night" in reply.plain()


# ------------------------------------------------------------------------ at the same moment


async def test_concurrent_follows_and_reports_end_as_one_row_each(four: Say, db: Database) -> None:
    say = four
    for name in ("eve", "fay", "gus", "hal"):
        await ok(say, "/start", name)
    twice = await asyncio.gather(*(say("/follow @ann", user="bob") for _ in range(5)))
    assert sum("You follow @ann now" in r.plain() for r in twice) == 1
    assert all("already follow" in r.plain() for r in twice if r.error)
    many = await asyncio.gather(
        *(say("/follow @ann", user=n) for n in ("eve", "fay", "gus", "hal"))
    )
    assert all(not r.error for r in many), [r.plain() for r in many]
    [row] = await news(db, "ann")  # one message naming all five, none lost to the race
    assert row.data["followers_count"] == 5
    assert set(row.data["followers"]) == {"bob", "eve", "fay", "gus", "hal"}
    reports = await asyncio.gather(*(say("/report @ann spam", user="cat") for _ in range(5)))
    assert all(not r.error for r in reports)
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Report)) == 1
        assert await session.scalar(select(func.count()).select_from(Follow)) == 5
