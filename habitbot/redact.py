"""Secrets never reach a log line, whoever logs them (aiogram, aiohttp, discord.py, us)."""

from __future__ import annotations

import logging
from collections.abc import Iterable


class RedactSecrets(logging.Filter):
    """Replaces every secret in log lines, tracebacks and stack traces (a handler filter sees
    every record). One filter holds them all: the traceback text is formatted once and cached
    on the record (`exc_text`), so a filter per secret would leave the later ones in it."""

    def __init__(self, secrets: Iterable[str], placeholder: str = "<redacted>") -> None:
        super().__init__()
        self.placeholder = placeholder
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        merged = {*self.secrets, *(s for s in secrets if s)}
        self.secrets = sorted(merged, key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, self.placeholder)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self._clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True


def hide_in_logs(*secrets: str) -> None:
    """Make sure none of `secrets` reaches a log handler, whoever logs it."""
    wanted = [s for s in secrets if s]
    if not wanted:
        return
    handlers = logging.getLogger().handlers or [logging.lastResort]
    for handler in handlers:
        if handler is None:
            continue
        existing = next((f for f in handler.filters if isinstance(f, RedactSecrets)), None)
        if existing is None:
            handler.addFilter(RedactSecrets(wanted))
        else:
            existing.add(wanted)
