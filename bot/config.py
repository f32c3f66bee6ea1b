"""Settings from the environment (pydantic-settings), checked once at start-up."""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.domain.errors import InvalidInput
from bot.domain.validation import parse_dns_name

DEFAULT_DATABASE_URL = "sqlite:///privatelink-bot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_SLACK_AUTHORIZE_URL = "https://slack.com/oauth/v2/authorize"
SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg")


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def _check_dns_zone(value: str) -> str:
    try:
        return parse_dns_name(value)
    except InvalidInput as error:
        raise ValueError(error.message) from None


# Seconds between reconcile passes. Below a few seconds only suits tests and the demo (AWS
# throttles the describe calls); below MIN_INTERVAL a pass would only spin the CPU and the
# database. Above MAX_INTERVAL, a wizard would wait for AWS for over an hour.
MIN_INTERVAL = 0.1
MAX_INTERVAL = 3600.0

# Threads answering HTTP. Acks spend their time on the CPU under one GIL: more threads only
# queue behind it and stretch the slowest answers (see docs/benchmarks.md).
DEFAULT_HTTP_THREADS = 4
MAX_HTTP_THREADS = 16  # the database pool is sized for this many (bot.storage.db)
MAX_STUCK_AFTER = 100 * 365 * 86400  # a century: "never", and still a date the clock can reach


class Settings(BaseSettings):
    """Every setting the bot reads, by its environment name."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    SLACK_BOT_TOKEN: SecretStr | None = None
    SLACK_SIGNING_SECRET: SecretStr | None = None
    SLACK_APP_TOKEN: SecretStr | None = None
    SLACK_CLIENT_ID: str | None = None  # with SLACK_CLIENT_SECRET: installs by OAuth
    SLACK_CLIENT_SECRET: SecretStr | None = None
    SLACK_REDIRECT_URI: str | None = None  # the redirect URL registered with the app, if several
    SLACK_API_URL: str = DEFAULT_SLACK_API_URL
    SLACK_AUTHORIZE_URL: str = DEFAULT_SLACK_AUTHORIZE_URL
    DATABASE_URL: SecretStr = SecretStr(DEFAULT_DATABASE_URL)  # may carry a password
    BOT_RECONCILE_INTERVAL: float = 15.0
    BOT_HTTP_THREADS: int = Field(default=DEFAULT_HTTP_THREADS, ge=1, le=MAX_HTTP_THREADS)
    BOT_PIN_TO_CORE: bool = True  # each serving process's threads on one core (bot.cores)
    BOT_PRIVATE_DNS_ZONE: Annotated[str, AfterValidator(_check_dns_zone)] = (
        "privatelink.example.com"
    )
    BOT_LOG_FORMAT: Literal["text", "json"] = "text"
    BOT_SQLITE_SYNCHRONOUS: Literal["normal", "full"] = "normal"  # bot.storage.db.make_engine
    BOT_STUCK_AFTER: float = Field(
        default=86400.0, gt=0, le=MAX_STUCK_AFTER, allow_inf_nan=False
    )  # seconds in initiating or pending before the creator is reminded, once per status

    @field_validator("SLACK_BOT_TOKEN")
    @classmethod
    def _bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _prefixed(value, "xoxb-", "a bot token")

    @field_validator("SLACK_APP_TOKEN")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        return _prefixed(value, "xapp-", "an app-level token")

    @field_validator("SLACK_SIGNING_SECRET")
    @classmethod
    def _signing_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and (not value.get_secret_value() or _has_space(value)):
            raise ValueError("must be the app's signing secret, without spaces")
        return value

    @field_validator("SLACK_API_URL")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not _is_url(value):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("SLACK_AUTHORIZE_URL", "SLACK_REDIRECT_URI")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _is_url(value):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("SLACK_CLIENT_ID")
    @classmethod
    def _client_id(cls, value: str | None) -> str | None:
        if value is not None and not _CLIENT_ID.fullmatch(value):
            raise ValueError("must be the app's client id, such as 1234567890.1234567890")
        return value

    @field_validator("SLACK_CLIENT_SECRET")
    @classmethod
    def _client_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and (not value.get_secret_value() or _has_space(value)):
            raise ValueError("must be the app's client secret, without spaces")
        return value

    @model_validator(mode="after")
    def _one_mode(self) -> Settings:
        oauth = (self.SLACK_CLIENT_ID is not None, self.SLACK_CLIENT_SECRET is not None)
        if any(oauth) and not all(oauth):
            missing = "SLACK_CLIENT_SECRET" if oauth[0] else "SLACK_CLIENT_ID"
            raise ValueError(f"{missing}: is required with the other (OAuth installs)")
        if all(oauth) and self.SLACK_BOT_TOKEN is not None:
            raise ValueError(
                "SLACK_BOT_TOKEN: set it for one workspace, or SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET for installs by OAuth, not both"
            )
        return self

    @property
    def oauth(self) -> bool:
        """Whether workspaces install the app by OAuth (tokens per workspace, in the database)
        rather than the one workspace of SLACK_BOT_TOKEN."""
        return self.SLACK_CLIENT_ID is not None and self.SLACK_CLIENT_SECRET is not None

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: SecretStr) -> SecretStr:
        try:
            url = make_url(value.get_secret_value())
        except (ArgumentError, ValueError):  # ValueError: a port that is not a number
            raise ValueError(
                "must be a SQLAlchemy URL such as sqlite:///bot.db or "
                "postgresql://user:password@host:5432/dbname"
            ) from None
        if url.drivername not in SUPPORTED_DRIVERS:
            raise ValueError("must be a sqlite:// or postgresql:// URL (psycopg 3)")
        if url.get_backend_name() == "sqlite" and _in_memory(url):
            raise ValueError(
                "is an in-memory SQLite database, which the serving threads and the worker "
                "cannot share (each connection would get its own, empty one): name a file, "
                "such as sqlite:///privatelink-bot.db"
            )
        if url.get_backend_name() == "postgresql" and not (url.database or url.query.get("dbname")):
            raise ValueError(
                "names no database (a database name, and a host unless it is this machine's "
                "socket): postgresql://user:password@host:5432/dbname"
            )
        return value

    @field_validator("BOT_RECONCILE_INTERVAL")
    @classmethod
    def _reconcile_interval(cls, value: float) -> float:
        if not math.isfinite(value) or not MIN_INTERVAL <= value <= MAX_INTERVAL:
            raise ValueError(
                f"must be a number of seconds from {MIN_INTERVAL:g} to {MAX_INTERVAL:g}, "
                f"not {value:g}"
            )
        return value

    def require_bot_token(self) -> str:
        """The bot token, or ConfigError when it is missing."""
        if self.SLACK_BOT_TOKEN is None:
            raise ConfigError(
                "SLACK_BOT_TOKEN: is required to talk to Slack "
                "(or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for installs by OAuth)"
            )
        return self.SLACK_BOT_TOKEN.get_secret_value()

    def require_slack_access(self) -> None:
        """ConfigError unless the bot can call Slack: a bot token, or OAuth installs."""
        if not self.oauth:
            self.require_bot_token()

    def require_slack(self) -> tuple[str | None, str]:
        """The bot token (None when workspaces install by OAuth) and the signing secret, or
        ConfigError naming what is missing."""
        if self.SLACK_SIGNING_SECRET is None:
            raise ConfigError("SLACK_SIGNING_SECRET: is required to serve Slack requests")
        secret = self.SLACK_SIGNING_SECRET.get_secret_value()
        if self.oauth:
            return None, secret
        return self.require_bot_token(), secret


_CLIENT_ID = re.compile(r"\d{1,20}\.\d{1,20}")


def _in_memory(url: URL) -> bool:
    """Whether a SQLite URL names a database that lives only inside one connection."""
    database = url.database or ""
    return (
        database in ("", ":memory:")
        or database.startswith("file::memory:")
        or url.query.get("mode") == "memory"
    )


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://")) and not any(ch.isspace() for ch in value)


def _has_space(value: SecretStr) -> bool:
    return any(ch.isspace() for ch in value.get_secret_value())


def _prefixed(value: SecretStr | None, prefix: str, what: str) -> SecretStr | None:
    if value is not None and (not value.get_secret_value().startswith(prefix) or _has_space(value)):
        raise ValueError(f"must be {what} starting with {prefix}")
    return value


def load_settings() -> Settings:
    """Read the environment, or raise ConfigError with one line naming the bad variable."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")  # names its variables if no `name`
        raise ConfigError(f"{name}: {message}" if name else message) from None
