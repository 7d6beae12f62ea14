"""The keys of stored messages: a key file made once (owner-only) when none is set, a wrong key
stopping start-up loudly, a token no key opens shown as "[cannot be decrypted]" and logged by
id only, and `habitbot keys rotate` keeping every message readable after the old key goes
(SQLite, and PostgreSQL when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import argparse
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from bots.commands import Deps
from core.clock import FakeClock
from core.messaging.rotation import rotate_messages
from core.storage import cipher
from core.storage.cipher import UNREADABLE, Cipher, install
from core.storage.db import Database
from core.storage.models import Message, Outbox, Report
from habitbot import app
from habitbot.keys import check_keys, key_file, load_keys, start_cipher
from habitbot.settings import Settings
from tests.conftest import TEST_KEY, Say


@pytest.fixture(autouse=True)
def restore_cipher() -> Iterator[None]:
    yield
    install(Cipher([TEST_KEY]))


@pytest.fixture
def say(db: Database, clock: FakeClock) -> Say:
    return Say(Deps(db, clock))


async def chat(say: Say, user: str = "bob") -> str:
    return (await say("/chat 1", user=user)).plain()


async def test_a_key_file_is_made_once_owner_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    [key] = load_keys(settings)
    path = key_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path) in capsys.readouterr().out  # says where it is
    assert load_keys(settings) == [key]  # the next start reads it, quietly
    assert capsys.readouterr().out == ""
    Cipher([key])  # a real Fernet key


def test_a_malformed_key_stops_start_up(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_keys=SecretStr("not-a-key"), _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(SystemExit, match="key #1 is not a Fernet key"):
        start_cipher(settings)


async def test_a_wrong_key_fails_loudly_at_start_up(say: Say, db: Database) -> None:
    for name in ("ann", "bob"):
        await say("/start", user=name)
    await say("/dm @bob hello", user="ann")
    await check_keys(db, Cipher([TEST_KEY]))  # the right one passes
    with pytest.raises(SystemExit, match=r"cannot decrypt the stored messages \(message #1\)"):
        await check_keys(db, Cipher([Cipher.new_key()]))


async def test_a_message_no_key_opens_reads_cannot_be_decrypted(
    say: Say, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("ann", "bob"):
        await say("/start", user=name)
    await say("/dm @bob a secret", user="ann")
    install(Cipher([Cipher.new_key()]))  # the old key is gone
    with caplog.at_level(logging.WARNING, "habitbot.cipher"):
        page = await chat(say)
    assert UNREADABLE in page and "went wrong" not in page
    [record] = [r for r in caplog.records if r.name == "habitbot.cipher"]
    assert record.getMessage() == "message 1 cannot be decrypted with the configured keys"


async def test_rotation_keeps_every_message_readable(say: Say, db: Database) -> None:
    old = TEST_KEY
    for name in ("ann", "bob", "cat"):
        await say("/start", user=name)
    for i in range(7):
        await say(f"/dm @bob note {i}", user="ann")
    await say("/block @bob", user="cat")  # keeps cat out of it; nothing else
    await say("/report @ann spam", user="bob")  # the snapshot carries the tokens too
    new = Cipher.new_key()
    box = install(Cipher([new, old]))
    seen: list[int] = []
    # A batch per transaction, each reported; a second run (a resumed one) finds nothing to do.
    first = await rotate_messages(db, box, batch=3, progress=lambda d: seen.append(d.seen))
    assert first.rotated == 7 and seen == [3, 6, 7] and first.others >= 1
    again = await rotate_messages(db, box, batch=3)
    assert again.rotated == 0 and again.seen == 7  # a second run finds nothing to do
    install(Cipher([new]))  # the old key dropped
    page = await chat(say)
    assert all(f"note {i}" in page for i in range(7)) and UNREADABLE not in page
    async with db.session() as session:
        only_new = Cipher([new])
        for body in await session.scalars(select(Message.body)):
            assert only_new.current(body)
        for data in await session.scalars(select(Outbox.data).where(Outbox.kind == "dm")):
            assert only_new.current(data["body"])
        [report] = await session.scalars(select(Report))
        assert all(only_new.current(m["body"]) for m in report.snapshot["messages"])


async def test_keys_rotate_command(
    say: Say, db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ann", "bob"):
        await say("/start", user=name)
    await say("/dm @bob rotate me", user="ann")
    new = Cipher.new_key()
    settings = Settings(  # type: ignore[call-arg]
        data_dir=tmp_path,
        database_url=db.engine.url.render_as_string(hide_password=False),
        secret_keys=SecretStr(f"{new},{TEST_KEY}"),
        _env_file=None,
    )
    await app.keys_command(settings, argparse.Namespace(keys_command="rotate", after=0, batch=500))
    printed = capsys.readouterr().out
    assert "1/1 messages, 1 re-encrypted" in printed and "old keys can be dropped" in printed
    install(Cipher([new]))
    assert "rotate me" in await chat(say)
    assert cipher.current().current((await _bodies(db))[0])


async def _bodies(db: Database) -> list[str]:
    async with db.session() as session:
        return list(await session.scalars(select(Message.body)))


def test_a_sealed_answer_is_stored_encrypted_and_sent_as_it_was() -> None:
    """A reply holding messages (/chat, /export) is recorded in the outbox encrypted; the
    dispatcher, sending it later, shows it as it was (or "[cannot be decrypted]")."""
    from bots.answers import answer_data
    from bots.notifications import render
    from bots.reply import Reply

    reply = Reply.text("💬 #1 with @bob").add("meet at the oak")
    reply.sealed = True
    data = answer_data(reply)
    assert "oak" not in repr(data) and set(data) == {"sealed"}
    assert render("answer", data).plain() == reply.plain()
    install(Cipher([Cipher.new_key()]))
    assert render("answer", data).plain() == UNREADABLE
