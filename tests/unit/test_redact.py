"""Every configured secret is kept out of the logs: in messages, in tracebacks, in stacks."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from habitbot.redact import hide_in_logs
from habitbot.settings import Settings

TOKEN = "123456:TELEGRAM-secret-token"
WEBHOOK = "webhook-secret-value"
DISCORD = "discord.secret.token"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """A root handler as `habitbot run` has one, removed afterwards."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [handler]
    try:
        yield out
    finally:
        root.handlers = saved


def test_an_exception_carrying_every_secret_is_logged_with_none_of_them(
    log_output: io.StringIO,
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=TOKEN,
        webhook_secret=WEBHOOK,
        discord_bot_token=DISCORD,
    )
    for secret in settings.secrets():  # as habitbot.app.run installs them, one by one
        hide_in_logs(secret)
    log = logging.getLogger("habitbot.test")
    try:
        raise RuntimeError(f"POST /bot{TOKEN}/getMe header {WEBHOOK} auth Bot {DISCORD}")
    except RuntimeError:
        log.exception("request to /bot%s failed (%s, %s)", TOKEN, WEBHOOK, DISCORD)
    log.error("stack", stack_info=True, extra={"unused": TOKEN})
    text = log_output.getvalue()
    assert "Traceback" in text and "RuntimeError: POST /bot<redacted>/getMe" in text
    for secret in (TOKEN, WEBHOOK, DISCORD):
        assert secret not in text
    assert text.count("<redacted>") >= 6


def test_installing_twice_keeps_one_filter(log_output: io.StringIO) -> None:
    hide_in_logs(TOKEN)
    hide_in_logs(TOKEN, WEBHOOK)
    for handler in logging.getLogger().handlers:  # ours and pytest's capture
        assert len(handler.filters) == 1
    logging.getLogger("habitbot.test").warning("%s %s", TOKEN, WEBHOOK)
    assert log_output.getvalue() == "WARNING <redacted> <redacted>\n"
