"""Settings from the environment or a .env file. Secrets are SecretStr so they never print."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    discord_bot_token: SecretStr | None = None
    discord_dev_guild: int | None = None
    discord_shard_count: int | None = None
    discord_shard_ids: str | None = None  # "0,1" — the shards this process runs

    secret_keys: SecretStr | None = None
    planner_api_key: SecretStr | None = None
    planner_base_url: str = "https://api.openai.com/v1"
    planner_model: str = "gpt-4o-mini"

    tick_seconds: int = 30
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

    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'habitbot.sqlite3'}"
