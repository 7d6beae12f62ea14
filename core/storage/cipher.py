"""One cipher for user text stored at rest: Fernet tokens under MultiFernet, so keys rotate.

Keys come from the settings (SECRET_KEYS, comma-separated; the first encrypts, every one
decrypts), never from the database. The process installs its cipher once at start-up
(`install`); code that stores or reads user text calls `current()`. A token no key opens is
logged by the id of what held it, never its bytes, and reads as UNREADABLE.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger("habitbot.cipher")

UNREADABLE = "[cannot be decrypted]"


class BadKey(ValueError):
    """A configured key is not a Fernet key (32 url-safe base64 bytes)."""


def parse_keys(value: str) -> list[str]:
    return [k.strip() for k in value.split(",") if k.strip()]


class Cipher:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise BadKey("no encryption key given")
        fernets = []
        for number, key in enumerate(keys, 1):
            try:
                fernets.append(Fernet(key.encode() if isinstance(key, str) else key))
            except (ValueError, TypeError) as error:
                # Which one, never the key itself.
                raise BadKey(f"encryption key #{number} is not a Fernet key") from error
        self._first = fernets[0]
        self._all = MultiFernet(fernets)

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, text: str) -> str:
        return self._all.encrypt(text.encode()).decode()

    def decrypt(self, token: str, ref: str) -> str:
        """The text, or UNREADABLE (logged with `ref`, e.g. "message 12") when no key opens it."""
        try:
            return self._all.decrypt(token.encode()).decode()
        except (InvalidToken, ValueError):
            log.warning("%s cannot be decrypted with the configured keys", ref)
            return UNREADABLE

    def readable(self, token: str) -> bool:
        try:
            self._all.decrypt(token.encode())
        except (InvalidToken, ValueError):
            return False
        return True

    def current(self, token: str) -> bool:
        """Whether the first key (the one that encrypts) already opens it: rotation skips it."""
        try:
            self._first.decrypt(token.encode())
        except (InvalidToken, ValueError):
            return False
        return True

    def rotate(self, token: str) -> str:
        """Re-encrypt under the first key; raises InvalidToken when no key opens it."""
        return self._all.rotate(token.encode()).decode()


_installed: Cipher | None = None


def install(cipher: Cipher) -> Cipher:
    global _installed
    _installed = cipher
    return cipher


def current() -> Cipher:
    if _installed is None:
        raise RuntimeError("no cipher installed: the app installs one at start-up")
    return _installed
