"""Groups, challenges and leaderboards, driven through commands as group members would."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from bots.notifications import render
from core.challenges.lifecycle import lifecycle_tick
from core.storage.models import Badge, Outbox, Participant

DAY = timedelta(days=1)


async def _setup(say, title: str = "Move Week", days: int = 7) -> None:
    await say("/start", user="boss", group="gym", admin=True)
    reply = await say(
        f"/challenge new {title} days={days} habits=Walk;Stretch",
        user="boss",
        group="gym",
        admin=True,
    )
    assert "created" in reply.plain(), reply.plain()


async def test_seven_day_challenge_with_late_joiner_and_undo(say, clock, deps):
    await _setup(say)
    for member in ("ann", "bob"):
        assert "You joined" in (await say("/join 1", user=member, group="gym")).plain()
    for day in range(7):
        # ann does everything; bob skips Stretch on odd days; cat joins on day 3
        await say("/done Walk", user="ann", group="gym")
        await say("/done Stretch", user="ann", group="gym")
        await say("/done Walk", user="bob", group="gym")
        if day % 2 == 0:
            await say("/done Stretch", user="bob", group="gym")
        if day == 2:
            await say("/join 1", user="cat", group="gym")
        if day >= 2:
            await say("/done Walk", user="cat", group="gym")
            await say("/done Stretch", user="cat", group="gym")
        if day == 4:  # ann undoes today's stretch: her day 5 is no longer full
            assert "Undid" in (await say("/undo Stretch", user="ann", group="gym")).plain()
        if day < 6:
            clock.advance(DAY)

    board = (await say("/leaderboard", user="bob", group="gym")).plain()
    lines = [line for line in board.splitlines() if "—" in line]
    # Everyone is measured over the whole week: ann 13/14 (streak 2 after the undo), bob
    # 11/14, and cat, perfect since joining on day 3, 10/14 with the longest streak.
    assert lines[0].startswith("🥇 Ann — 93% (13/14) · 🔥2"), board
    assert lines[1].startswith("🥈 Bob — 79% (11/14)") and "← you" in lines[1], board
    assert lines[2].startswith("🥉 Cat — 71% (10/14) · 🔥5"), board
    assert "Together: 81% of the tasks so far (3 people)" in board  # 34/42

    grid = (await say("/progress", user="ann", group="gym")).plain()
    assert "Walk" in grid and "Stretch" in grid and "13/14 done" in grid, grid

    # The day after the end date, the lifecycle tick ends it, pays and announces once.
    clock.advance(DAY)
    async with deps.db.session() as session:
        assert await lifecycle_tick(session, clock.now()) >= 1
    async with deps.db.session() as session:
        assert await lifecycle_tick(session, clock.now()) == 0
        rows = list(await session.scalars(select(Outbox).where(Outbox.kind == "challenge_final")))
        badges = {(b.user_id, b.code) for b in await session.scalars(select(Badge))}
    assert len(rows) == 1 and rows[0].chat == "gym" and rows[0].dedupe_key == "challenge_final:1"
    announcement = render(rows[0].kind, rows[0].data).plain()
    assert "Move Week has ended" in announcement and "1. Ann" in announcement
    assert "🏆 Winner: Ann." in announcement and "1 person finished" in announcement
    cat_id, ann_id, bob_id = 4, 2, 3
    assert (ann_id, "challenge_won") in badges and (ann_id, "challenge_finished") in badges
    assert not {(cat_id, "challenge_won"), (bob_id, "challenge_finished")} & badges
    final = (await say("/leaderboard 1", user="ann", group="gym")).plain()
    assert final.startswith("Final board")


async def test_non_admin_cannot_create_or_end(say):
    refused = await say("/challenge new Mine days=7 habits=Read", user="ann", group="gym")
    assert refused.error and "admins" in refused.plain()
    await _setup(say)
    refused = await say("/challenge end 1", user="ann", group="gym")
    assert refused.error and "owner" in refused.plain()
    assert "1 joined" not in (await say("/group", user="ann", group="gym")).plain()


async def test_bad_challenge_input_is_refused_and_nothing_is_written(say, deps):
    cases = [
        "/challenge new T days=0 habits=a",
        "/challenge new T days=100000 habits=a",
        "/challenge new T days=7 habits=;",
        "/challenge new T days=7 habits=" + ";".join(f"h{i}" for i in range(30)),
        "/challenge new T days=7 habits=a start=2026-02-30",
        "/challenge new T days=7 habits=a start=2020-01-01",
        "/challenge new T days=7 habits=a every=3/week",
        "/challenge new T habits=a",
        "/challenge new days=7 habits=a",
    ]
    for text in cases:
        reply = await say(text, user="boss", group="gym", admin=True)
        assert reply.error, (text, reply.plain())
    assert "No challenges" in (await say("/challenge list", user="boss", group="gym")).plain()
    await _setup(say)
    dup = await say(
        "/challenge new move week days=3 habits=a", user="boss", group="gym", admin=True
    )
    assert dup.error and "already has" in dup.plain()
    await say("/join 1", user="ann", group="gym")
    assert "already in" in (await say("/join 1", user="ann", group="gym")).plain()
    assert "not in" in (await say("/leave 1", user="bob", group="gym")).plain()
    await say.confirmed("/challenge end 1", user="boss", group="gym", admin=True)
    assert (
        "already ended"
        in (await say("/challenge end 1", user="boss", group="gym", admin=True)).plain()
    )
    async with deps.db.session() as session:
        count = await session.scalar(select(func.count()).select_from(Participant))
    assert count == 1


async def test_private_challenges_stay_hidden(say):
    created = (await say("/challenge new Secret days=5 habits=Read private", user="ann")).plain()
    code = created.split("Invite code: ")[1].split()[0]
    assert "Secret" not in (await say("/challenges", user="bob")).plain()
    wrong = await say("/join ABCDEFGH", user="bob")
    by_id = await say("/join 1", user="bob")
    assert wrong.plain() == by_id.plain()  # a wrong code does not reveal the challenge exists
    assert (await say("/challenge info 1", user="bob")).error
    assert "You joined" in (await say(f"/join {code.lower()}", user="bob")).plain()
    assert "Secret" in (await say("/challenge info 1", user="bob")).plain()
    assert code in (await say("/challenge invite 1", user="ann")).plain()
    assert (await say("/challenge invite 1", user="bob")).error


async def test_a_private_challenge_listed_in_its_group_can_be_looked_at_there(say):
    made = await say(
        "/challenge new Secret Sprint days=5 habits=Walk private",
        user="boss",
        group="gym",
        admin=True,
    )
    assert not made.error, made.plain()
    assert "#1 Secret Sprint 🔒" in (await say("/group", user="ann", group="gym")).plain()
    info = await say("/challenge info 1", user="ann", group="gym")
    assert not info.error and "Secret Sprint" in info.plain()
    # Elsewhere it stays hidden, and in its group joining still takes the code.
    assert (await say("/challenge info 1", user="ann")).error
    assert (await say("/join 1", user="ann", group="gym")).error


async def test_a_page_past_the_end_says_how_many_pages_there_are(say):
    for title in ("A", "B"):
        await say(f"/challenge new {title} days=5 habits=Read", user="ann")
    past = await say("/challenges 2", user="bob")
    # Before: "No public challenges yet" while page 1 listed two.
    assert "No public challenges yet" not in past.plain()
    assert "There is no page 2: 2 public challenges fit on 1." in past.plain()


async def test_public_explore_orders_by_participants_and_paginates(say):
    for i in range(12):
        await say(f"/challenge new C{i} days=5 habits=Read", user=f"owner{i}")
    for i in range(3):
        await say("/join 5", user=f"fan{i}")
    page1 = (await say("/challenges", user="ann")).plain()
    assert page1.splitlines()[1].startswith("• #5 C4") and "/challenges 2" in page1
    page2 = (await say("/challenges 2", user="ann")).plain()
    assert "page 2/2" in page2


async def test_one_checkin_counts_for_every_challenge_with_that_habit(say):
    await say("/challenge new A days=5 habits=Read", user="ann")
    await say("/challenge new B days=5 habits=Read;Run", user="ann")
    await say("/done Read", user="ann")
    a = (await say("/leaderboard 1", user="ann")).plain()
    b = (await say("/leaderboard 2", user="ann")).plain()
    # Today counts once a task is done: all of A's, half of B's.
    assert "100% (1/1)" in a and "50% (1/2)" in b, (a, b)


async def test_concurrent_joins_leave_no_duplicates(say, deps):
    await _setup(say)
    users = [f"u{i}" for i in range(60)]
    replies = await asyncio.gather(*(say("/join 1", user=u, group="gym") for u in users))
    assert all("You joined" in r.plain() for r in replies)
    again = await asyncio.gather(*(say("/join 1", user=u, group="gym") for u in users[:10]))
    assert all("already in" in r.plain() for r in again)
    async with deps.db.session() as session:
        rows = await session.scalar(select(func.count()).select_from(Participant))
    info = (await say("/challenge info 1", user="ann", group="gym")).plain()
    assert rows == 60 and "60 joined" in info


async def test_leaderboard_shows_own_rank_beyond_top_ten(say):
    await _setup(say)
    for i in range(12):
        await say("/join 1", user=f"m{i:02d}", group="gym")
        if i < 11:
            await say("/done Walk", user=f"m{i:02d}", group="gym")
    board = (await say("/leaderboard 1", user="m11", group="gym")).plain()
    assert "… you are #12 of 12 (0%)" in board and "Page 1 of 2" in board, board
    assert board.count("—") == 10


async def test_group_settings_and_join(say):
    reply = await say(
        "/group settings digest=20:00 timezone=Europe/Berlin announce=here",
        user="boss",
        group="gym",
        admin=True,
    )
    assert "20:00 (Europe/Berlin)" in reply.plain()
    assert (await say("/group settings digest=20:00", user="ann", group="gym")).error
    assert "member of gym" in (await say("/join", user="ann", group="gym")).plain()
    assert (await say("/join", user="ann")).error


async def test_group_digest_goes_out_once_at_the_digest_time(say, clock, deps):
    from core.groups.digest import digest_tick

    await _setup(say)
    await say("/group settings digest=20:00 timezone=Europe/Berlin", user="boss", group="gym",
              admin=True)
    await say("/join 1", user="ann", group="gym")
    await say("/done Walk", user="ann", group="gym")
    async with deps.db.session() as session:
        assert await digest_tick(session, clock.now()) == 0  # 09:00 UTC: not yet
    clock.set(clock.now().replace(hour=19, minute=1))  # 20:01 in Berlin
    for _ in range(2):
        async with deps.db.session() as session:
            await digest_tick(session, clock.now())
    async with deps.db.session() as session:
        rows = list(await session.scalars(select(Outbox).where(Outbox.kind == "group_digest")))
    assert len(rows) == 1
    text = render("group_digest", rows[0].data).plain()
    assert "1 checked in: Ann" in text and "Move Week: together" in text


async def test_a_personal_challenge_tells_each_participant_privately(say, clock, deps):
    await say("/challenge new Duo days=2 habits=Read", user="ann")
    await say("/join 1", user="bob")
    await say("/habit add Solo", user="cat")  # not in the challenge: told nothing
    clock.advance(timedelta(days=2))
    async with deps.db.session() as session:
        await lifecycle_tick(session, clock.now())
        rows = list(await session.scalars(select(Outbox).where(Outbox.kind == "challenge_final")))
    assert sorted(r.chat for r in rows) == ["ann", "bob"]
    assert {r.dedupe_key for r in rows} == {"challenge_final:1:1", "challenge_final:1:2"}


async def test_ending_a_challenge_asks_first(say):
    await _setup(say)
    await say("/join 1", user="ann", group="gym")
    boss = {"user": "boss", "group": "gym", "admin": True}
    asked = await say("/challenge end 1", **boss)
    assert "End Move Week now? 1 person joined" in asked.plain()
    assert [b.label for row in asked.buttons for b in row] == ["🏁 End it now", "✖️ Cancel"]
    assert "days left" in (await say("/challenge info 1", **boss)).plain()  # still running
    member = await say.press(asked, "End", user="ann", group="gym")
    assert member.error  # not the admin's button to press
    ended = await say.press(asked, "End", **boss)
    assert "Move Week has ended" in ended.plain()
    again = await say.press(asked, "End", **boss)  # a second press of the same button
    assert again.error and "already ended" in again.plain()
