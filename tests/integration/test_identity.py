"""Identity end to end as console users: handles, /link and the merge, /unlink, /export,
/deleteme, with a fake clock, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bots.commands import Chat, Deps, Invocation, execute
from bots.reply import Reply
from core.clock import FakeClock
from core.errors import Conflict
from core.storage.db import Database
from core.storage.models import (
    Account,
    Block,
    Challenge,
    CheckIn,
    Follow,
    Habit,
    LedgerEntry,
    LinkCode,
    Participant,
    Report,
    User,
)
from core.users.handles import change_handle
from tests.conftest import Say

DAY = timedelta(days=1)


async def ok(say: Say, text: str, **kwargs: object) -> str:
    reply = await say(text, **kwargs)  # type: ignore[arg-type]
    assert not reply.error, f"{text!r} failed: {reply.plain()}"
    return reply.plain()


async def refused(say: Say, text: str, **kwargs: object) -> str:
    reply = await say(text, **kwargs)  # type: ignore[arg-type]
    assert reply.error, f"{text!r} was not refused: {reply.plain()}"
    assert "went wrong" not in reply.plain()
    return reply.plain()


async def code_of(say: Say, user: str) -> str:
    found = re.search(r"code: (\d{6})", await ok(say, "/link", user=user))
    assert found
    return found.group(1)


async def wallet(say: Say, user: str) -> dict[str, str]:
    text = await ok(say, "/wallet", user=user)
    return dict(re.findall(r"(?m)^• \S+ (coins|gems|streak freezes|badges): (\S+)$", text))


async def press(deps: Deps, user: str, text: str, owner: int | None) -> Reply:
    """A signed button pressed by a console user (the adapters verify the signature)."""
    inv = Invocation(
        "console",
        user,
        user.capitalize(),
        Chat("private", user),
        text=text,
        button=True,
        button_owner=owner,
        username=user,
    )
    return await execute(deps, inv)


async def user_id(db: Database, name: str) -> int:
    async with db.session() as session:
        found = await session.scalar(
            select(Account.user_id).where(
                Account.platform == "console", Account.external_id == name
            )
        )
    assert found is not None
    return found


# ------------------------------------------------------------------ handles
async def test_a_new_user_gets_their_username_as_handle(say: Say) -> None:
    assert "You are @ann." in await ok(say, "/handle")
    # Bob's "ann" is taken: he gets a suggestion built on it.
    inv = Invocation(
        "console", "bob", "Bob", Chat("private", "bob"), text="/handle", username="ann"
    )
    text = (await execute(say.deps, inv)).plain()
    assert re.search(r"You are @ann_[0-9a-f]{6}\.", text), text


async def test_changing_a_handle_and_its_reservation(say: Say, clock: FakeClock) -> None:
    await ok(say, "/start", user="bob")
    text = await ok(say, "/handle @Ann_Reads")
    assert "You are now @ann_reads." in text and "@ann stays yours for 30 days" in text
    assert "You are @ann_reads." in await ok(say, "/handle")
    # Case-insensitive: taken whatever the case, with free suggestions.
    taken = await refused(say, "/handle ANN_READS", user="bob")
    assert "@ann_reads is taken" in taken and "@ann_reads_1" in taken
    # The old handle is not for others for 30 days; its owner may take it back.
    assert "@ann is taken" in await refused(say, "/handle ann", user="bob")
    clock.advance(31 * DAY)
    assert "You are now @ann." in await ok(say, "/handle ann", user="bob")
    assert "@ann is taken" in await refused(say, "/handle ann")


async def test_bad_handles_get_clear_replies(say: Say) -> None:
    assert "after the @" in await refused(say, "/handle @")
    assert "3–32 letters" in await refused(say, "/handle ab")
    assert "3–32 letters" in await refused(say, "/handle <b>x</b>")
    assert "3–32 letters" in await refused(say, "/handle an\x01n")
    assert "too long" in await refused(say, "/handle " + "a" * 40)
    assert "too long" in await refused(say, "/handle " + "a" * 10_000)
    assert "taken" in await refused(say, "/handle deleted")
    assert "You are @ann." in await ok(say, "/handle")


# ------------------------------------------------------------------ linking
async def test_two_users_link_and_see_one_wallet_and_streak(
    say: Say, clock: FakeClock, db: Database
) -> None:
    # Ann reads on Monday and Tuesday, Bob (the same person elsewhere) on Tuesday and Wednesday.
    await ok(say, "/habit add Read")
    await ok(say, "/habit add Read", user="bob")
    await ok(say, "/habit add Run", user="bob")
    await ok(say, "/done Read")
    clock.advance(DAY)
    await ok(say, "/done Read")
    await ok(say, "/done Read", user="bob")
    clock.advance(DAY)
    await ok(say, "/done Read", user="bob")
    await ok(say, "/done Run", user="bob")
    assert (await wallet(say, "ann"))["coins"] == "20"
    assert (await wallet(say, "bob"))["coins"] == "30"

    code = await code_of(say, "ann")
    text = await ok(say, f"/link {code}", user="bob")
    assert "Linked: this account is now part of @ann." in text
    assert "console:ann, console:bob" in text and "Wallet: 🪙 50 coins" in text
    assert "• Read — streak 3 days" in text and "• Run — streak 1 day" in text
    for who in ("ann", "bob"):  # both accounts are now one person
        assert (await wallet(say, who))["coins"] == "50"
        assert "Read" in await ok(say, "/habits", user=who)
    stats = await ok(say, "/stats Read", user="bob")
    assert "3 days" in stats
    async with db.session() as session:
        users = await session.scalar(select(func.count()).select_from(User))
        reads = await session.scalar(
            select(func.count()).select_from(CheckIn).join(Habit).where(Habit.name == "Read")
        )
    assert users == 1 and reads == 3  # Tuesday's two check-ins became one
    # The code worked once.
    assert "used already" in await refused(say, f"/link {code}", user="cy")


async def test_merge_dedupes_challenges_and_recounts(say: Say, db: Database) -> None:
    await ok(say, "/challenge new Readers days=30 habits=Read", user="ann")
    async with db.session() as session:
        challenge_id = await session.scalar(select(Challenge.id))
    await ok(say, f"/join {challenge_id}", user="bob")
    await ok(say, f"/join {challenge_id}", user="cy")
    await ok(say, "/join", user="ann", group="club")
    await ok(say, "/join", user="bob", group="club")
    code = await code_of(say, "ann")
    await ok(say, f"/link {code}", user="bob")
    async with db.session() as session:
        challenge = await session.get_one(Challenge, challenge_id)
        participants = await session.scalar(select(func.count()).select_from(Participant))
    assert challenge.participant_count == participants
    board = await ok(say, f"/leaderboard {challenge_id}", user="cy")
    assert board.count("Ann") + board.count("Bob") == 1, board


async def test_merged_check_ins_count_on_the_board(say: Say, clock: FakeClock) -> None:
    await ok(say, "/challenge new Readers days=7 habits=Read", user="ann")  # ann joins it
    await ok(say, "/join 1", user="bob")
    await ok(say, "/done Read", user="ann")  # day 1 on one account...
    clock.advance(timedelta(days=1))
    await ok(say, "/done Read", user="bob")  # ...day 2 on the other
    code = await code_of(say, "ann")
    await ok(say, f"/link {code}", user="bob")
    board = await ok(say, "/leaderboard 1", user="bob")
    assert "Ann — 100% (2/2)" in board and "Bob" not in board, board
    await ok(say, "/undo Read", user="bob")  # the merged habit still keeps the standing
    board = await ok(say, "/leaderboard 1", user="ann")
    assert "Ann — 100% (1/1)" in board and "Together: 50%" in board, board  # today is open


async def test_bad_link_codes(say: Say, clock: FakeClock, db: Database) -> None:
    assert "6 digits" in await refused(say, "/link 12ab", user="bob")
    code = await code_of(say, "ann")
    assert "from this account" in await refused(say, f"/link {code}")
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        assert f"({left} tr" in await refused(say, f"/link {wrong}", user="bob")
    assert "5th wrong one" in await refused(say, f"/link {wrong}", user="bob")
    # Burnt: even the right code is refused from that account now.
    assert "Too many wrong codes" in await refused(say, f"/link {code}", user="bob")
    # Another account may still use it; a code also runs out after 15 minutes.
    clock.advance(timedelta(minutes=16))
    assert "expired" in await refused(say, f"/link {code}", user="cy")
    async with db.session() as session:
        hashes = list(await session.scalars(select(LinkCode.code_hash)))
    assert code not in hashes and all(len(h) == 64 for h in hashes)  # stored hashed
    # The window over, the locked account may try again.
    code = await code_of(say, "ann")
    assert "Linked" in await ok(say, f"/link {code}", user="bob")
    assert "from this account" in await refused(
        say, f"/link {await code_of(say, 'ann')}", user="bob"
    )


async def test_unlink_splits_an_account_off_fresh(say: Say) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/done Read")
    assert "only account" in await refused(say, "/unlink")
    await ok(say, f"/link {await code_of(say, 'ann')}", user="bob")
    assert "no 'discord' account" in await refused(say, "/unlink discord")
    text = await ok(say, "/unlink", user="bob")
    assert "This account (console:bob) is on its own again" in text
    assert "stay with @ann" in text
    assert (await wallet(say, "bob"))["coins"] == "0"
    assert (await wallet(say, "ann"))["coins"] == "10"
    assert "No habits" in await ok(say, "/habits", user="bob")
    # Linked again, and split off from the other side by name.
    await ok(say, f"/link {await code_of(say, 'ann')}", user="bob")
    assert "console:bob is on its own again" in await ok(say, "/unlink console:bob")


# ------------------------------------------------------------------ export
async def test_export_sends_json_and_csv(say: Say, clock: FakeClock) -> None:
    await ok(say, "/handle ann_reads")
    await ok(say, "/handle ann")
    await ok(say, "/habit add =Read target=10 unit=pages")
    await ok(say, "/done =Read 12")
    clock.advance(DAY)
    await ok(say, "/done =Read")
    reply = await say("/export")
    assert not reply.error and reply.private
    assert "2 check-ins of 1 habits" in reply.plain()
    names = [f.name for f in reply.files]
    assert names == ["habitbot-ann-2026-03-03.json", "habitbot-ann-2026-03-03-checkins.csv"]
    data = json.loads(reply.files[0].data)
    assert data["user"]["handle"] == "ann" and data["accounts"][0]["external_id"] == "ann"
    assert [h["handle"] for h in data["handles_kept_for_you"]] == ["ann_reads"]
    assert data["balances"]["coins"] == 30 and len(data["ledger"]) == 4
    assert [c["local_date"] for c in data["checkins"]] == ["2026-03-02", "2026-03-03"]
    rows = list(csv.reader(io.StringIO(reply.files[1].data.decode())))
    assert rows[0] == ["habit", "date", "amount", "logged_at"]
    assert rows[1][:3] == ["'=Read", "2026-03-02", "12"]  # no formula for a spreadsheet
    # A recorded answer keeps its files (the outbox may have to send it after a crash).
    again = Reply.from_data(reply.to_data())
    assert again.files == reply.files


# ------------------------------------------------------------------ delete
async def test_deleteme_asks_then_deletes(say: Say, deps: Deps, db: Database) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/done Read")
    await ok(say, "/challenge new Readers days=30 habits=Read")
    async with db.session() as session:
        challenge_id = await session.scalar(select(Challenge.id))
    await ok(say, f"/join {challenge_id}", user="bob")
    await ok(say, "/done Read", user="bob")
    assert "created by @ann" in await ok(say, f"/challenge info {challenge_id}", user="bob")
    asked = await say("/deleteme")
    assert "cannot be undone" in asked.plain() and not asked.error
    labels = [b.label for row in asked.buttons for b in row]
    assert labels[0] == "🗑 Yes, delete everything" and len(labels) == 2  # and Cancel
    # Typed by hand it only asks again; someone else's press is refused.
    assert "did not understand" in await refused(say, "/deleteme confirm=yes")
    ann = await user_id(db, "ann")
    action = asked.buttons[0][0].action
    text = f"/{action.command} {action.args}"
    bob = await user_id(db, "bob")
    assert "not yours" in (await press(deps, "bob", text, ann)).plain()
    done = await press(deps, "ann", text, ann)
    assert "Deleted: your 1 habit(s)" in done.plain() and not done.error
    async with db.session() as session:
        tomb = await session.get_one(User, ann)
        habits = await session.scalar(
            select(func.count()).select_from(Habit).where(Habit.user_id == ann)
        )
        entries = await session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.user_id == ann)
        )
        challenge = await session.get_one(Challenge, challenge_id)
    assert tomb.name == "deleted user" and tomb.handle is None and tomb.deleted_at is not None
    assert habits == 0 and entries == 0
    assert challenge.owner_id == ann  # the challenge stays for the others in it
    assert challenge.participant_count == 1
    board = await ok(say, f"/leaderboard {challenge_id}", user="bob")
    assert "Bob" in board and "Ann" not in board
    assert "created by deleted user" in await ok(say, f"/challenge info {challenge_id}", user="bob")
    assert (await wallet(say, "bob"))["coins"] == "10"
    # Writing again starts afresh; the old handle is not free for others yet.
    assert (await wallet(say, "ann"))["coins"] == "0"
    assert "You are @ann_" in await ok(say, "/handle")
    assert bob != ann


@pytest.mark.parametrize("first", ["ann", "bob"])
async def test_racing_link_from_both_sides_one_wins(say: Say, db: Database, first: str) -> None:
    await ok(say, "/habit add Read")
    await ok(say, "/done Read")
    await ok(say, "/habit add Read", user="bob")
    await ok(say, "/done Read", user="bob")
    codes = {"ann": await code_of(say, "ann"), "bob": await code_of(say, "bob")}
    other = {"ann": "bob", "bob": "ann"}
    order = [first, other[first]]
    replies = await asyncio.gather(*(say(f"/link {codes[other[u]]}", user=u) for u in order))
    texts = [r.plain() for r in replies]
    assert sum("Linked" in t for t in texts) == 1, texts
    loser = next(r for r in replies if "Linked" not in r.plain())
    assert loser.error and "went wrong" not in loser.plain(), texts
    async with db.session() as session:
        owners = set(await session.scalars(select(Account.user_id)))
        users = await session.scalar(select(func.count()).select_from(User))
        checkins = await session.scalar(select(func.count()).select_from(CheckIn))
    assert len(owners) == 1 and users == 1 and checkins == 1
    assert (await wallet(say, "ann"))["coins"] == "20" == (await wallet(say, "bob"))["coins"]


async def test_a_button_shown_before_linking_still_works(
    say: Say, deps: Deps, db: Database
) -> None:
    added = await say("/habit add Read", user="bob")
    [[button]] = added.buttons
    bob_before = await user_id(db, "bob")
    await ok(say, f"/link {await code_of(say, 'ann')}", user="bob")
    text = f"/{button.action.command} {button.action.args}"
    pressed = await press(deps, "bob", text, bob_before)
    assert "Read done for today" in pressed.plain(), pressed.plain()
    # Someone else's button is still refused.
    assert "not yours" in (await press(deps, "cy", text, bob_before)).plain()


async def test_two_people_racing_for_one_handle(say: Say, db: Database) -> None:
    await ok(say, "/start", user="bob")
    await ok(say, "/start", user="cy")
    replies = await asyncio.gather(
        say("/handle runner", user="bob"), say("/handle runner", user="cy")
    )
    assert sum("You are now @runner" in r.plain() for r in replies) == 1
    loser = next(r for r in replies if "You are now" not in r.plain())
    assert loser.error and "taken" in loser.plain() and "went wrong" not in loser.plain()
    async with db.session() as session:
        holders = await session.scalar(
            select(func.count()).select_from(User).where(User.handle == "runner")
        )
    assert holders == 1


async def test_a_handle_taken_while_being_claimed(say: Say, db: Database, clock: FakeClock) -> None:
    """The unique index decides when the check saw the handle free: a clear refusal, and the
    rest of the command's unit of work goes on."""
    await ok(say, "/start", user="bob")
    await ok(say, "/start", user="cy")
    bob, cy = await user_id(db, "bob"), await user_id(db, "cy")

    async def claim_for_cy() -> str:
        async with db.session() as session:
            user = await session.get_one(User, cy)
            try:
                await change_handle(session, user, "runner", clock.now())
            except Conflict as error:
                return str(error)
        return "claimed"

    async with db.session() as session:
        await change_handle(session, await session.get_one(User, bob), "runner", clock.now())
        other = asyncio.create_task(claim_for_cy())
        await asyncio.sleep(0.3)  # cy checks (sees it free on PostgreSQL) and waits on the index
    said = await other
    assert "taken" in said, said
    if db.dialect == "postgresql":
        assert "just taken" in said
    assert "You are @runner." in await ok(say, "/handle", user="bob")


# ------------------------------------------------------------------ people, merged and deleted
async def test_follows_blocks_and_reports_survive_a_merge_once(say: Say, db: Database) -> None:
    for user in ("ann", "bob", "carl", "dana"):
        await ok(say, "/start", user=user)
    await ok(say, "/follow @carl", user="ann")
    await ok(say, "/follow @carl", user="bob")  # the same person, twice
    await ok(say, "/follow @bob", user="ann")  # a follow between the two accounts
    await ok(say, "/follow @ann", user="carl")
    await ok(say, "/block @dana", user="ann")
    await ok(say, "/block @dana", user="bob")
    await ok(say, "/report @dana spam", user="ann")
    await ok(say, "/report @dana spam", user="bob")
    code = await code_of(say, "ann")
    await ok(say, f"/link {code}", user="bob")
    async with db.session() as session:
        ann = await session.scalar(select(User.id).where(User.handle == "ann"))
        follows = set((await session.execute(select(Follow.follower_id, Follow.followee_id))).all())
        blocks = set((await session.execute(select(Block.blocker_id, Block.blocked_id))).all())
        reports = await session.scalar(select(func.count()).select_from(Report))
    carl = next(b for a, b in follows if a == ann)
    assert follows == {(ann, carl), (carl, ann)}  # one follow of carl, none of oneself
    assert len(blocks) == 1 and next(iter(blocks))[0] == ann
    assert reports == 1  # reported twice by one person: counts once


async def test_a_deleted_user_leaves_no_follows_or_blocks(say: Say, db: Database) -> None:
    for user in ("ann", "carl"):
        await ok(say, "/start", user=user)
    await ok(say, "/follow @carl", user="ann")
    await ok(say, "/follow @ann", user="carl")
    await ok(say, "/block @carl", user="ann")  # ends the follows; a block stays until deleted
    deleted = await say.confirmed("/deleteme", user="ann")
    assert "deleted" in deleted.plain().lower(), deleted.plain()
    async with db.session() as session:
        left = await session.scalar(select(func.count()).select_from(Follow))
        blocks = await session.scalar(select(func.count()).select_from(Block))
    assert left == 0 and blocks == 0
