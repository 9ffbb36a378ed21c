"""Typed settings from the environment or a ``.env`` file."""

from __future__ import annotations

import difflib
import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Literal

import yarl
from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handlers.errors import ConfigError
from handlers.parserpool import DEFAULT_PARSE_BUDGET
from handlers.schedule.client import DEFAULT_SCHEDULE_URL
from handlers.schedule.reminders import parse_reminders
from storage.postgres import is_postgres_url, password_of, safe_url

DEFAULT_API_BASE = "https://discord.com/api/v10"


def shipped_feeds() -> list[str]:
    """The default spaceflight news feeds shipped with LaunchWatch."""
    text = resources.files("handlers.data").joinpath("default_feeds.toml").read_text("utf-8")
    return list(tomllib.loads(text)["feeds"])


class Settings(BaseSettings):
    """Every setting LaunchWatch reads; names are the environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        env_ignore_empty=True,  # `.env.example` copied as is leaves `DISCORD_TOKEN=` empty
    )

    discord_token: SecretStr | None = Field(default=None, alias="DISCORD_TOKEN")
    discord_api_base: str = Field(default=DEFAULT_API_BASE, alias="DISCORD_API_BASE")
    discord_gateway_url: str | None = Field(default=None, alias="DISCORD_GATEWAY_URL")
    db: Path = Field(default=Path("launchwatch.db"), alias="LAUNCHWATCH_DB")
    database_url: SecretStr | None = Field(default=None, alias="LAUNCHWATCH_DATABASE_URL")
    feeds: str | None = Field(default=None, alias="LAUNCHWATCH_FEEDS")
    poll_interval: float = Field(default=300.0, ge=1, alias="LAUNCHWATCH_POLL_INTERVAL")
    allow_private_networks: bool = Field(default=False, alias="LAUNCHWATCH_ALLOW_PRIVATE_NETWORKS")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", alias="LAUNCHWATCH_LOG_LEVEL"
    )
    log_format: Literal["text", "json"] = Field(default="text", alias="LAUNCHWATCH_LOG_FORMAT")
    recent_hours: float = Field(default=72.0, gt=0, alias="LAUNCHWATCH_RECENT_HOURS")
    max_feed_bytes: int = Field(default=5_000_000, ge=10_000, alias="LAUNCHWATCH_MAX_FEED_BYTES")
    fetch_timeout: float = Field(default=20.0, gt=0, le=300, alias="LAUNCHWATCH_FETCH_TIMEOUT")
    parse_timeout: float = Field(
        default=DEFAULT_PARSE_BUDGET, gt=0, le=300, alias="LAUNCHWATCH_PARSE_TIMEOUT"
    )
    max_concurrent_polls: int = Field(default=32, ge=1, le=1000, alias="LAUNCHWATCH_CONCURRENCY")
    retention_days: int = Field(default=90, ge=7, alias="LAUNCHWATCH_RETENTION_DAYS")
    dev_guild: int | None = Field(default=None, alias="LAUNCHWATCH_DEV_GUILD")
    http_port: int | None = Field(default=None, ge=1, le=65535, alias="LAUNCHWATCH_HTTP_PORT")
    max_subscriptions_per_guild: int = Field(
        default=25, ge=1, alias="LAUNCHWATCH_MAX_SUBSCRIPTIONS"
    )
    max_feeds_per_guild: int = Field(default=10, ge=0, alias="LAUNCHWATCH_MAX_GUILD_FEEDS")
    schedule: bool = Field(default=True, alias="LAUNCHWATCH_SCHEDULE")
    schedule_url: str = Field(default=DEFAULT_SCHEDULE_URL, alias="LAUNCHWATCH_SCHEDULE_URL")
    schedule_token: SecretStr | None = Field(default=None, alias="LAUNCHWATCH_SCHEDULE_TOKEN")
    dry_run_reminders: str = Field(default="15m", alias="LAUNCHWATCH_DRY_RUN_REMINDERS")
    schedule_requests: int = Field(
        default=15, ge=1, le=100_000, alias="LAUNCHWATCH_SCHEDULE_REQUESTS"
    )

    @field_validator("discord_api_base", "schedule_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not is_postgres_url(value.get_secret_value()):
            raise ValueError(
                "must be a postgresql:// URL (postgresql://user:password@host:5432/database);"
                " leave it unset to use the SQLite file at LAUNCHWATCH_DB"
            )
        return value

    @property
    def database(self) -> str | Path:
        """What storage opens: the PostgreSQL URL when set, else the SQLite file."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return self.db

    @property
    def database_label(self) -> str:
        """The database for messages: the file, or the server URL without its password."""
        if self.database_url is not None:
            return safe_url(self.database_url.get_secret_value())
        return str(self.db)

    @property
    def uses_sqlite(self) -> bool:
        """True unless ``LAUNCHWATCH_DATABASE_URL`` names a PostgreSQL server."""
        return self.database_url is None

    @field_validator("discord_gateway_url")
    @classmethod
    def _websocket(cls, value: str | None) -> str | None:
        if value is not None and not _has_host(value, ("ws", "wss")):
            raise ValueError("must be a ws:// or wss:// URL with a host")
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        return value.strip().upper() if value.strip().upper() in _LEVELS else value.strip().lower()

    @field_validator("feeds")
    @classmethod
    def _feed_urls(cls, value: str | None) -> str | None:
        for url in (u.strip() for u in (value or "").split(",")):
            if url and not _has_host(url, ("http", "https")):
                raise ValueError(
                    f"{url[:100]!r} is not an http(s) URL (separate feeds with commas)"
                )
        return value

    @field_validator("dry_run_reminders")
    @classmethod
    def _reminders(cls, value: str) -> str:
        parse_reminders(value)  # a ValueError names what is wrong
        return value

    def dry_run_reminder_leads(self) -> tuple[int, ...]:
        """``LAUNCHWATCH_DRY_RUN_REMINDERS`` as lead times in seconds."""
        return parse_reminders(self.dry_run_reminders)

    def secrets(self) -> list[str]:
        """The configured secret values, which no log line, stored error or reply may show."""
        return [
            secret.get_secret_value()
            for secret in (self.discord_token, self.schedule_token, self.database_password())
            if secret is not None
        ]

    def database_password(self) -> SecretStr | None:
        """The password in ``LAUNCHWATCH_DATABASE_URL``, if it has one."""
        if self.database_url is None:
            return None
        password = password_of(self.database_url.get_secret_value())
        return SecretStr(password) if password else None

    def feed_urls(self) -> list[str]:
        """``LAUNCHWATCH_FEEDS`` when set (comma-separated), else the shipped defaults."""
        if self.feeds is None or not self.feeds.strip():
            return shipped_feeds()
        return [u.strip() for u in self.feeds.split(",") if u.strip()]


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _has_host(url: str, schemes: tuple[str, ...]) -> bool:
    try:
        parsed = yarl.URL(url)
    except (ValueError, TypeError):
        return False
    return parsed.scheme in schemes and bool(parsed.host)


def setting_names() -> list[str]:
    """Every environment variable LaunchWatch reads."""
    return [str(f.alias) for f in Settings.model_fields.values() if f.alias]


def unknown_settings(env_file: str | None) -> list[str]:
    """A warning for each ``LAUNCHWATCH_*`` / ``DISCORD_*`` name that is not a setting.

    A misspelt name would otherwise be ignored without a word, and the bot would run on
    the default instead; the warning names the closest real setting.
    """
    known = setting_names()
    found: dict[str, str] = dict.fromkeys(os.environ, "the environment")
    if env_file is not None:
        found.update({name: env_file for name in dotenv_values(env_file) if name})
    warnings = []
    for name, where in sorted(found.items()):
        upper = name.upper()
        if not upper.startswith(("LAUNCHWATCH_", "DISCORD_")) or upper in known:
            continue
        guess = difflib.get_close_matches(upper, known, n=1, cutoff=0.6)
        hint = f" (did you mean {guess[0]}?)" if guess else ""
        warnings.append(f"{name} in {where} is not a LaunchWatch setting; ignored{hint}")
    return warnings


def load_settings(env_file: str | None = ".env") -> Settings:
    """Read settings; a wrong value raises :class:`ConfigError` naming the variable."""
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"invalid setting {name}: {message}") from None
