"""Settings from the environment or a .env file. Secrets are SecretStr so they never print."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.planning.ai import ChatPlanner


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None
    log_level: str = "INFO"

    telegram_bot_token: SecretStr | None = None
    telegram_api_base: str | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8080

    # The web companion (bots/web): its public address (https for the Telegram Mini App) and
    # the port it listens on. With a webhook on the same port, one server serves both.
    web_base_url: str | None = None
    web_port: int | None = None
    web_host: str = "0.0.0.0"

    discord_bot_token: SecretStr | None = None
    discord_dev_guild: int | None = None
    discord_shard_count: int | None = None
    discord_shard_ids: str | None = None  # "0,1" — the shards this process runs
    # Another server speaking Discord's REST API and gateway (http://host:port, an emulator);
    # None: discord.com and the gateway it names.
    discord_api_base: str | None = None

    secret_keys: SecretStr | None = None
    # /plan's AI: any OpenAI-compatible chat-completions API. Either setting turns it on (a
    # local server may need no key); with neither, the built-in planner plans.
    planner_api_key: SecretStr | None = None
    planner_base_url: str | None = None  # default with a key: https://api.openai.com/v1
    planner_model: str = "gpt-4o-mini"

    tick_seconds: int = 30
    # The bot's operators, who verify people and read reports: platform:id pairs separated by
    # commas, e.g. "telegram:123,discord:456,console:boss".
    operators: str = ""
    # One send budget per bot token for every process (redis://host:port/db); without it each
    # process paces itself alone, which is right for one process.
    redis_url: str | None = None

    def secrets(self) -> list[str]:
        """Every configured secret's value, for log redaction."""
        values = [
            self.telegram_bot_token,
            self.webhook_secret,
            self.discord_bot_token,
            self.secret_keys,
            self.planner_api_key,
        ]
        return [v.get_secret_value() for v in values if v is not None and v.get_secret_value()]

    def button_key(self) -> bytes:
        """The key that signs button data: from SECRET_KEYS, else from the bot tokens, so every
        process of one bot shares it and a restart keeps old buttons working (changing the
        secret expires them)."""
        secret = self.secret_keys or self.telegram_bot_token or self.discord_bot_token
        value = secret.get_secret_value() if secret is not None else ""
        return hashlib.sha256(b"habitbot buttons\0" + value.encode()).digest()

    def planner(self) -> ChatPlanner | None:
        """The configured AI planner, or None for the built-in one."""
        key = self.planner_api_key.get_secret_value() if self.planner_api_key else None
        if not key and not self.planner_base_url:
            return None
        base = self.planner_base_url or "https://api.openai.com/v1"
        return ChatPlanner(base, key, self.planner_model)

    def operator_ids(self) -> frozenset[str]:
        """OPERATORS as a set of "platform:id"; malformed entries (no colon) are ignored."""
        parts = (p.strip() for p in self.operators.split(","))
        return frozenset(p.lower() if p.startswith("console:") else p for p in parts if ":" in p)

    def web_url(self, console: bool = False) -> str | None:
        """Where pages are reached: WEB_BASE_URL; in the console, 127.0.0.1:WEB_PORT without
        it. None: the companion is off."""
        if self.web_base_url:
            return self.web_base_url.rstrip("/")
        if console and self.web_port:
            return f"http://127.0.0.1:{self.web_port}"
        return None

    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'habitbot.sqlite3'}"
