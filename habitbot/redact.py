"""Secrets never reach a log line, whoever logs them (aiogram, aiohttp, discord.py, us)."""

from __future__ import annotations

import logging


class RedactSecret(logging.Filter):
    """Replaces a secret in log lines and tracebacks (a handler filter sees every record)."""

    def __init__(self, secret: str, placeholder: str = "<redacted>") -> None:
        super().__init__()
        self.secret, self.placeholder = secret, placeholder

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, self.placeholder), None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = text.replace(self.secret, self.placeholder)
        return True


def hide_in_logs(secret: str) -> None:
    """Make sure `secret` never reaches a log handler, whoever logs it (aiogram, aiohttp, us)."""
    if not secret:
        return
    handlers = logging.getLogger().handlers or [logging.lastResort]
    for handler in handlers:
        if handler is not None and not any(
            isinstance(f, RedactSecret) and f.secret == secret for f in handler.filters
        ):
            handler.addFilter(RedactSecret(secret))
