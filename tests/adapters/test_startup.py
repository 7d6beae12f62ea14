"""Start-up as a person sees it: the console starts without log noise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_console_starts_quietly(tmp_path: Path) -> None:
    # Before: seven "INFO alembic.runtime.plugins: setup plugin ..." lines on every start.
    env = {**os.environ, "DATA_DIR": str(tmp_path), "LOG_LEVEL": "INFO"}
    for key in ("TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN", "DATABASE_URL"):
        env.pop(key, None)
    done = subprocess.run(
        [sys.executable, "-m", "habitbot.cli", "console"],
        input="/start\n:quit\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert "alembic" not in done.stderr and "INFO" not in done.stderr, done.stderr
    assert "Hi Me" in done.stdout
