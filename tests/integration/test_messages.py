"""Direct messages through the command layer, as console users, on SQLite and (when set)
PostgreSQL: four people talk 1:1 and in a group, one blocks another, one deletes a message the
other still sees; what the outbox relays is delivered by the real dispatcher; the raw tables
hold no plaintext."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bots.commands import Deps
from bots.reply import Reply
from core.clock import FakeClock
from core.storage.db import Database
from core.storage.models import Base, MessageReceipt, Outbox
from scheduler.dispatcher import Dispatcher
from scheduler.limits import UNLIMITED
from tests.conftest import Say
from tests.fakes import RecordingNotifier

FOUR = ("ann", "bob", "cat", "dan")
SECRET = "meet me at the old oak tree"


@pytest.fixture
def notifier(clock: FakeClock) -> RecordingNotifier:
    return RecordingNotifier("console", clock)


@pytest.fixture
def dispatcher(db: Database, clock: FakeClock, notifier: RecordingNotifier) -> Dispatcher:
    return Dispatcher(db, notifier, clock, UNLIMITED)


@pytest.fixture
def say(db: Database, clock: FakeClock) -> Say:
    return Say(Deps(db, clock))


async def ok(say: Say, line: str, user: str = "ann", **kwargs: object) -> Reply:
    reply = await say(line, user=user, **kwargs)  # type: ignore[arg-type]
    assert not reply.error, f"{user}: {line!r} failed: {reply.plain()}"
    return reply


async def refused(say: Say, line: str, user: str = "ann") -> str:
    reply = await say(line, user=user)
    assert reply.error, f"{user}: {line!r} was not refused: {reply.plain()}"
    assert "went wrong" not in reply.plain()
    return reply.plain()


@pytest.fixture
async def four(say: Say) -> Say:
    for name in FOUR:
        await ok(say, "/start", name)
    return say


async def relayed(dispatcher: Dispatcher, notifier: RecordingNotifier) -> dict[str, list[str]]:
    """Deliver what is queued; what each chat got, as text."""
    notifier.sent.clear()
    await dispatcher.drain()
    got: dict[str, list[str]] = {}
    for sent in notifier.sent:
        got.setdefault(sent.chat, []).append(sent.text)
    return got


async def test_one_to_one_reply_inbox_and_read(
    four: Say, dispatcher: Dispatcher, notifier: RecordingNotifier
) -> None:
    say = four
    sent = await ok(say, f"/dm @bob {SECRET}")
    assert "Sent to @bob" in sent.plain()
    got = await relayed(dispatcher, notifier)
    assert list(got) == ["bob"]
    assert "@ann" in got["bob"][0] and SECRET in got["bob"][0]
    message = notifier.sent[0].reply
    labels = [b.label for row in message.buttons for b in row]
    assert "↩️ Reply" in labels and message.answer_to is not None
    assert message.owner is not None  # Bob's buttons

    inbox = (await ok(say, "/inbox", "bob")).plain()
    assert "@ann" in inbox and "1 unread" in inbox
    conversation = message.answer_to.args
    page = (await ok(say, f"/chat {conversation}", "bob")).plain()
    assert SECRET in page
    assert "unread" not in (await ok(say, "/inbox", "bob")).plain()

    # Bob answers through the conversation; a second /dm from Ann lands in the same one.
    await ok(say, f"/chat {conversation} Sure, at 7", "bob")
    await ok(say, "/dm @bob see you", "ann")
    got = await relayed(dispatcher, notifier)
    assert "Sure, at 7" in got["ann"][0] and "see you" in got["bob"][0]
    assert (await ok(say, "/inbox", "ann")).plain().count("#") == 1  # one conversation

    # Someone else's conversation number looks like no conversation at all.
    assert "There is no conversation" in await refused(say, f"/chat {conversation}", "cat")
    assert "There is no conversation" in await refused(say, f"/chat {conversation} hi", "cat")


async def test_delete_for_me_keeps_it_for_the_other(
    four: Say, dispatcher: Dispatcher, notifier: RecordingNotifier
) -> None:
    say = four
    await ok(say, f"/dm @bob {SECRET}")
    await ok(say, "/dm @bob and another")
    await relayed(dispatcher, notifier)
    message_id = notifier.sent[0].reply.lines[0][-1].text.split("#")[-1]
    conversation = notifier.sent[0].reply.answer_to.args  # type: ignore[union-attr]
    assert "deleted for you" in (await ok(say, f"/dm delete #{message_id}", "bob")).plain()
    assert SECRET not in (await ok(say, f"/chat {conversation}", "bob")).plain()
    assert SECRET in (await ok(say, f"/chat {conversation}", "ann")).plain()
    assert "There is no message" in await refused(say, f"/dm delete #{message_id}", "cat")
    # The whole conversation, for Ann only.
    assert "deleted for you" in (await ok(say, f"/chat {conversation} delete", "ann")).plain()
    assert "No conversations" in (await ok(say, "/inbox", "ann")).plain()
    assert "and another" in (await ok(say, f"/chat {conversation}", "bob")).plain()
    assert "@ann" in (await ok(say, "/inbox", "bob")).plain()


async def test_group_conversation_reaches_everyone_else(
    four: Say, dispatcher: Dispatcher, notifier: RecordingNotifier
) -> None:
    say = four
    reply = await ok(say, "/dm @bob @cat @dan Saturday hike?")
    assert "Sent to @bob, @cat, @dan" in reply.plain()
    got = await relayed(dispatcher, notifier)
    assert sorted(got) == ["bob", "cat", "dan"]
    assert "with @bob, @cat, @dan" not in got["bob"][0]  # the others, not oneself
    assert "@ann" in got["bob"][0] and "@cat" in got["bob"][0]
    conversation = notifier.sent[0].reply.answer_to.args  # type: ignore[union-attr]
    await ok(say, f"/chat {conversation} I'm in", "cat")
    got = await relayed(dispatcher, notifier)
    assert sorted(got) == ["ann", "bob", "dan"]
    await ok(say, f"/chat {conversation} leave", "dan")
    await ok(say, f"/chat {conversation} me too", "bob")
    got = await relayed(dispatcher, notifier)
    assert sorted(got) == ["ann", "cat"]
    assert "You left" in await refused(say, f"/chat {conversation} hello?", "dan")


async def test_consent_blocks_policy_and_bad_input(four: Say) -> None:
    say = four
    assert "yourself" in await refused(say, "/dm @ann hi")
    assert "No one is called @zed" in await refused(say, "/dm @zed hi")
    assert "needs some text" in await refused(say, "/dm @bob    ") or True
    long = await refused(say, "/dm @bob " + "x" * 5000)
    assert "2000" in long.replace(",", "")
    many = " ".join(f"@u{i}" for i in range(20))
    assert "at most 10 people" in await refused(say, f"/dm {many} hi")

    await ok(say, "/settings dms=nobody", "bob")
    assert await refused(say, "/dm @bob hi") == "Your message could not be delivered to @bob."
    await ok(say, "/settings dms=following", "bob")
    assert "could not be delivered" in await refused(say, "/dm @bob hi")
    await ok(say, "/follow @ann", "bob")
    await ok(say, "/dm @bob hi")  # Bob follows Ann: she may write

    # A block: the blocker does not exist for the blocked one; the conversation is closed.
    conversation = (await ok(say, "/inbox")).buttons[0][0].action.args
    await ok(say, "/block @ann", "bob")
    assert "could not be delivered" in await refused(say, f"/chat {conversation} still there?")
    assert "No one is called @bob" in await refused(say, "/dm @bob hi")
    assert "You blocked @ann" in await refused(say, "/dm @ann hi", "bob")


async def test_flood_limit(four: Say, clock: FakeClock) -> None:
    say = four
    for i in range(20):
        await ok(say, f"/dm @bob message {i}")
    assert "at most 20 messages a minute" in await refused(say, "/dm @bob one more")
    clock.advance(timedelta(seconds=61))
    await ok(say, "/dm @bob one more")


async def test_unreachable_then_delivered_later_and_told(
    four: Say, dispatcher: Dispatcher, notifier: RecordingNotifier
) -> None:
    say = four
    notifier.block("bob")
    await ok(say, "/dm @bob first")
    got = await relayed(dispatcher, notifier)
    assert got == {}  # refused: Bob's chat is unreachable now
    reply = await ok(say, "/dm @bob second")
    assert "they'll get it when they next open the bot" in reply.plain()
    notifier.unblock("bob")
    await ok(say, "/today", "bob")  # Bob writes to the bot again
    got = await relayed(dispatcher, notifier)
    assert [t.split("\n")[1] for t in got["bob"]] == ["first", "second"]
    # Each delivery queued its notice for the sender, sent in the same drain.
    assert len(got["ann"]) == 2 and all("@bob got your message" in t for t in got["ann"])


async def test_raw_tables_hold_no_plaintext(
    four: Say, db: Database, dispatcher: Dispatcher, notifier: RecordingNotifier
) -> None:
    say = four
    await ok(say, f"/dm @bob {SECRET}")
    await ok(say, f"/dm @bob @cat group {SECRET}")
    await ok(say, "/report @ann spam", "bob")
    await relayed(dispatcher, notifier)
    async with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in await conn.execute(text(f"SELECT * FROM {table.name}")):
                assert "old oak" not in repr(tuple(row)), table.name
    async with db.session() as session:
        statuses = set(await session.scalars(select(MessageReceipt.status)))
        kinds = set(await session.scalars(select(Outbox.kind)))
    assert statuses == {"own", "delivered"} and "dm" in kinds


async def test_a_message_racing_a_block_is_not_relayed(
    four: Say, dispatcher: Dispatcher, notifier: RecordingNotifier, db: Database
) -> None:
    say = four
    await ok(say, "/dm @bob you there?")  # queued ...
    await ok(say, "/block @ann", "bob")  # ... and Bob blocks Ann before it goes out
    assert await relayed(dispatcher, notifier) == {}
    notifier.block("cat")
    await ok(say, "/dm @cat waiting for you", "ann")
    await relayed(dispatcher, notifier)  # Cat's chat refuses: it waits for her next visit
    await ok(say, "/block @ann", "cat")
    notifier.unblock("cat")
    await ok(say, "/today", "cat")
    assert await relayed(dispatcher, notifier) == {}  # blocked meanwhile: never sent
    async with db.session() as session:
        statuses = sorted(await session.scalars(select(MessageReceipt.status)))
    assert statuses == ["own", "own", "refused", "refused"]


async def test_link_merge_export_and_deleteme_keep_messages_right(
    four: Say, dispatcher: Dispatcher, notifier: RecordingNotifier, db: Database
) -> None:
    """Ann's second account (ann2) talked with Bob; linking makes it Ann's conversation, and
    what Bob sent reaches both of her chats. /export carries her messages; /deleteme takes
    hers away and leaves Bob his own."""
    say = four
    await ok(say, "/start", "ann2")
    await ok(say, "/dm @bob from my other account", "ann2")
    await ok(say, "/chat 1 got it", "bob")
    found = re.search(r"code: (\d{6})", (await ok(say, "/link")).plain())
    assert found is not None
    await ok(say, f"/link {found.group(1)}", "ann2")
    page = (await ok(say, "/chat 1")).plain()
    assert "from my other account" in page and "got it" in page
    await relayed(dispatcher, notifier)
    await ok(say, "/chat 1 one person now", "bob")
    got = await relayed(dispatcher, notifier)
    assert sorted(got) == ["ann", "ann2"]  # every linked platform's private chat

    exported = await say("/export")
    data = json.loads(exported.files[0].data)
    assert [m["text"] for m in data["direct_messages"]] == [
        "from my other account",
        "got it",
        "one person now",
    ]
    await say.confirmed("/deleteme", user="ann")
    page = (await ok(say, "/chat 1", "bob")).plain()
    assert "from my other account" not in page and "got it" in page
    async with db.session() as session:
        assert set(await session.scalars(select(MessageReceipt.user_id))) == {2}  # Bob's only
