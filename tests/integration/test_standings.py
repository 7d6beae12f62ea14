"""Fair boards from kept standings: the rules of /help leaderboard, asserted as members see them,
and kept standings equal to ones rebuilt from the check-in history."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from bots.notifications import render
from core.challenges.lifecycle import lifecycle_tick
from core.challenges.standings import rebuild_all
from core.storage.models import Badge, LedgerEntry, Outbox, Participant

DAY = timedelta(days=1)


async def _challenge(say, days: int = 7, habits: str = "Walk;Stretch", start: str = "") -> None:
    await say("/start", user="boss", group="gym", admin=True)
    made = await say(
        f"/challenge new Move days={days} habits={habits}{start}",
        user="boss",
        group="gym",
        admin=True,
    )
    assert "created" in made.plain(), made.plain()


def _lines(board: str) -> list[str]:
    return [line for line in board.splitlines() if " — " in line]


async def test_one_of_two_today_is_half_not_all(say):
    await _challenge(say)
    await say("/join 1", user="ann", group="gym")
    await say("/done Walk", user="ann", group="gym")
    board = (await say("/leaderboard", user="ann", group="gym")).plain()
    assert "Ann — 50% (1/2)" in board, board  # was 100% while /progress said 1/2


async def test_a_late_perfect_joiner_does_not_beat_a_steady_member(say, clock, deps):
    await _challenge(say)
    await say("/join 1", user="ann", group="gym")
    for day in range(7):
        if day == 5:
            await say("/join 1", user="late", group="gym")
        if day >= 5:
            await say("/done Walk", user="late", group="gym")
            await say("/done Stretch", user="late", group="gym")
        if day not in (2,):  # ann misses one day: 12 of 14
            await say("/done Walk", user="ann", group="gym")
            await say("/done Stretch", user="ann", group="gym")
        clock.advance(DAY)
    async with deps.db.session() as session:
        await lifecycle_tick(session, clock.now())
    board = (await say("/leaderboard 1", user="late", group="gym")).plain()
    lines = _lines(board)
    assert lines[0].startswith("🥇 Ann — 86% (12/14)"), board
    assert lines[1].startswith("🥈 Late — 29% (4/14)"), board
    async with deps.db.session() as session:
        won = set(await session.scalars(select(Badge.user_id).where(Badge.code == "challenge_won")))
    assert won == {2}  # ann only; before, the late joiner (2/2 from day 6) took the win


async def test_a_tie_at_the_top_shares_the_win_and_everyone_hears_their_result(say, clock, deps):
    await _challenge(say, days=2, habits="Walk")
    for member in ("ann", "bob", "cat"):
        await say("/join 1", user=member)  # in private: each has a private chat with the bot
        await say("/join 1", user=member, group="gym")
    for _day in range(2):
        await say("/done Walk", user="ann")
        await say("/done Walk", user="bob")
        clock.advance(DAY)
    await say("/done Walk", user="cat")  # too late: the challenge is over
    async with deps.db.session() as session:
        assert await lifecycle_tick(session, clock.now()) >= 1
    async with deps.db.session() as session:
        paid = {
            (e.user_id, e.reason)
            for e in await session.scalars(select(LedgerEntry).where(LedgerEntry.amount == 100))
        }
        outbox = list(await session.scalars(select(Outbox).order_by(Outbox.id)))
    assert paid == {(2, "challenge_won"), (3, "challenge_won")}
    final = [render(o.kind, o.data).plain() for o in outbox if o.kind == "challenge_final"]
    assert len(final) == 1 and "🏆 Winners, tied at the top: Ann, Bob." in final[0], final
    assert "2 people finished" in final[0]
    results = {
        o.chat: render(o.kind, o.data).plain() for o in outbox if o.kind == "challenge_result"
    }
    assert set(results) == {"ann", "bob", "cat"}
    assert "You ranked #1 of 3 with 100% (2/2 tasks)." in results["ann"]
    assert "You earned 150 coins and the " in results["bob"], results["bob"]
    assert "You ranked #3 of 3 with 0% (0/2 tasks)." in results["cat"]
    assert "You earned" not in results["cat"]
    board = (await say("/leaderboard 1", user="cat", group="gym")).plain()
    assert [line[:5] for line in _lines(board)] == ["🥇 Ann", "🥇 Bob", "🥉 Cat"], board


async def test_before_the_start_the_board_says_who_joined(say):
    await _challenge(say, start=" start=2026-03-09")
    for member in ("ann", "bob", "cat"):
        await say("/join 1", user=member, group="gym")
    board = (await say("/leaderboard 1", user="ann", group="gym")).plain()
    assert "Nobody has joined" not in board
    assert "Starts Mon 09 Mar 2026: 3 people joined so far." in board, board


async def test_an_ended_challenge_is_not_offered_to_join(say, deps):
    await _challenge(say)
    await say("/join 1", user="ann", group="gym")
    ended = (await say.confirmed("/challenge end 1", user="boss", group="gym", admin=True)).plain()
    # The final board is posted once, by the announcement, not also in this reply.
    assert "posted to the group's announcements" in ended and "Final board" not in ended, ended
    async with deps.db.session() as session:
        finals = list(await session.scalars(select(Outbox).where(Outbox.kind == "challenge_final")))
    assert len(finals) == 1
    progress = (await say("/progress 1", user="bob", group="gym")).plain()
    assert "has ended, and you were not in it" in progress and "Join" not in progress


async def test_a_big_board_pages_and_finds_me(say, deps):
    await _challenge(say, habits="Walk")
    for i in range(25):
        await say("/join 1", user=f"m{i:02d}", group="gym")
        if i % 2 == 0:
            await say("/done Walk", user=f"m{i:02d}", group="gym")
    first = await say("/leaderboard 1", user="m23", group="gym")
    text = first.plain()
    assert "Page 1 of 3" in text and "… you are #14 of 25 (0%)" in text, text
    labels = [b.label for row in first.buttons for b in row]
    assert labels == ["📍 around me", "➡️"]
    around = next(b.action for row in first.buttons for b in row if "around" in b.label)
    mine = await say(f"/leaderboard {around.args}", user="m23", group="gym")
    # Tied at #14 with eleven others, m23 joined last: the last page.
    assert "Page 3 of 3" in mine.plain() and "14. M23 — 0% · 🔥0 ← you" in mine.plain()
    assert first.owner is None  # anyone in the group may page the board
    last = (await say("/leaderboard 1 page=9", user="m23", group="gym")).plain()
    assert "Page 3 of 3" in last and len(_lines(last)) == 5


async def test_kept_standings_equal_rebuilt_ones(say, clock, deps):
    rng = random.Random(7)
    await _challenge(say, days=10)
    people = [f"p{i}" for i in range(8)]
    for day in range(10):
        for person in people:
            if day == rng.randrange(4):
                await say("/join 1", user=person, group="gym")
            for habit in ("Walk", "Stretch"):
                roll = rng.random()
                if roll < 0.6:
                    await say(f"/done {habit}", user=person, group="gym")
                if roll < 0.1:
                    await say(f"/undo {habit}", user=person, group="gym")
            if day == 6 and person == "p3":
                await say("/habit remove Stretch", user=person)
                await say("/habit add Stretch", user=person)
        clock.advance(DAY)

        if day == 5:  # a board drawn: place keys as of that day, then kept with check-ins
            await say("/leaderboard 1", user="boss", group="gym")

    def snapshot(rows: list[Participant]) -> list[tuple[object, ...]]:
        return [
            (
                p.user_id,
                p.completed,
                p.last_day,
                p.last_done,
                p.streak,
                p.streak_end,
                p.best_streak,
                p.place_key,
            )
            for p in rows
        ]

    async with deps.db.session() as session:
        kept = snapshot(list(await session.scalars(select(Participant).order_by(Participant.id))))
        assert any(row[1] for row in kept) and any(row[-1] for row in kept)
        assert await rebuild_all(session) == 1  # `habitbot db rebuild-standings`
    async with deps.db.session() as session:
        rebuilt = snapshot(
            list(await session.scalars(select(Participant).order_by(Participant.id)))
        )
    assert kept == rebuilt
