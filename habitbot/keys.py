"""The encryption keys at start-up: from SECRET_KEYS, or a key file made once in DATA_DIR
(owner-only) when none is set, and a check that they open what is stored (a wrong key stops
the bot with an explanation instead of showing "[cannot be decrypted]" everywhere)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import select

from core.storage.cipher import BadKey, Cipher, install, parse_keys
from core.storage.db import Database
from core.storage.models import Message
from habitbot.settings import Settings

log = logging.getLogger("habitbot.keys")

KEY_FILE = "secret.key"


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE


def load_keys(settings: Settings, say: bool = True) -> list[str]:
    """SECRET_KEYS when set; else the key file, created (mode 0600) on first use."""
    if settings.secret_keys is not None and settings.secret_keys.get_secret_value().strip():
        return parse_keys(settings.secret_keys.get_secret_value())
    path = key_file(settings)
    if path.exists():
        return parse_keys(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under another name, then linked in: a second process starting at the
    # same moment reads the one key, never a half-written file.
    draft = path.with_name(f".{KEY_FILE}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(Cipher.new_key() + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        return parse_keys(path.read_text())
    finally:
        draft.unlink()
    text = (
        f"Generated an encryption key for stored messages in {path} (readable by you only). "
        "Keep it with the database: without it the messages cannot be read. "
        "Set SECRET_KEYS to use your own."
    )
    if say:  # the console: to the person at the terminal
        print(text)
    else:
        log.warning(text)
    return parse_keys(path.read_text())


def start_cipher(settings: Settings, say: bool = True) -> Cipher:
    try:
        return install(Cipher(load_keys(settings, say)))
    except BadKey as error:
        raise SystemExit(
            f'SECRET_KEYS: {error}. Make one with: python -c "from cryptography.fernet '
            'import Fernet; print(Fernet.generate_key().decode())"'
        ) from error


async def check_keys(db: Database, cipher: Cipher) -> None:
    """The newest stored message must open with the configured keys: else stop, loudly."""
    async with db.session() as session:
        row = (
            await session.execute(select(Message.id, Message.body).order_by(Message.id.desc()))
        ).first()
    if row is not None and not cipher.readable(row.body):
        raise SystemExit(
            f"The configured SECRET_KEYS cannot decrypt the stored messages (message #{row.id}). "
            "Start with the key(s) they were written with; to change keys, put the new one "
            "first and keep the old ones after it, then run `habitbot keys rotate`."
        )
