"""Settings: exact environment names, one-line errors, secrets never shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings

SETTINGS = {
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_REDIRECT_URI",
    "SLACK_AUTHORIZE_URL",
    "SLACK_API_URL",
    "DATABASE_URL",
    "BOT_RECONCILE_INTERVAL",
    "BOT_LOG_FORMAT",
    "BOT_SQLITE_SYNCHRONOUS",
    "BOT_HTTP_THREADS",
    "BOT_PIN_TO_CORE",
    "BOT_PRIVATE_DNS_ZONE",
    "BOT_STUCK_AFTER",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


def test_exactly_the_documented_names() -> None:
    assert set(Settings.model_fields) == SETTINGS


def test_defaults() -> None:
    settings = load_settings()
    assert settings.DATABASE_URL.get_secret_value() == "sqlite:///privatelink-bot.db"
    assert settings.SLACK_API_URL == "https://slack.com/api/"
    assert settings.BOT_RECONCILE_INTERVAL == 15.0
    assert settings.BOT_HTTP_THREADS == 4
    assert settings.BOT_PIN_TO_CORE is True
    assert settings.BOT_STUCK_AFTER == 86400.0
    assert settings.BOT_SQLITE_SYNCHRONOUS == "normal"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "xoxb-"),
        ("SLACK_APP_TOKEN", "xoxb-1", "xapp-"),
        ("SLACK_SIGNING_SECRET", "has space", "signing secret"),
        ("SLACK_API_URL", "slack.com/api", "http"),
        ("DATABASE_URL", "mysql://x/y", "sqlite:// or postgresql://"),
        ("DATABASE_URL", "::not a url::", "SQLAlchemy URL"),
        ("BOT_RECONCILE_INTERVAL", "soon", "number"),
        ("BOT_RECONCILE_INTERVAL", "0", "from 0.1 to 3600, not 0"),
        ("BOT_RECONCILE_INTERVAL", "0.0001", "from 0.1 to 3600, not 0.0001"),
        ("BOT_RECONCILE_INTERVAL", "nan", "from 0.1 to 3600, not nan"),
        ("BOT_RECONCILE_INTERVAL", "-inf", "not -inf"),
        ("BOT_RECONCILE_INTERVAL", "1e999", "not inf"),
        ("BOT_RECONCILE_INTERVAL", "3601", "not 3601"),
        ("DATABASE_URL", "sqlite://", "in-memory SQLite database"),
        ("DATABASE_URL", "sqlite:///:memory:", "in-memory SQLite database"),
        ("DATABASE_URL", "sqlite:///file:bot?mode=memory&uri=true", "in-memory SQLite"),
        ("DATABASE_URL", "sqlite:///file::memory:?cache=shared&uri=true", "in-memory SQLite"),
        ("DATABASE_URL", "postgresql://", "names no database"),
        ("DATABASE_URL", "postgresql://bot:secret@db.internal:5432", "names no database"),
        ("DATABASE_URL", "postgresql://db.internal:port/bot", "SQLAlchemy URL"),
        ("BOT_HTTP_THREADS", "0", "greater than or equal to 1"),
        ("BOT_HTTP_THREADS", "many", "integer"),
        ("BOT_HTTP_THREADS", "17", "less than or equal to 16"),
        ("BOT_PIN_TO_CORE", "sometimes", "valid boolean"),
        ("BOT_PRIVATE_DNS_ZONE", "not a zone", "DNS name"),
        ("BOT_STUCK_AFTER", "0", "greater than 0"),
        ("BOT_STUCK_AFTER", "-60", "greater than 0"),
        ("BOT_STUCK_AFTER", "nan", "finite number"),
        ("BOT_STUCK_AFTER", "inf", "finite number"),
        ("BOT_STUCK_AFTER", "1e300", "less than or equal to 3153600000"),
        ("BOT_STUCK_AFTER", "a day", "valid number"),
    ],
)
def test_malformed_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    text = str(caught.value)
    assert text.startswith(f"{name}: ") and message in text and "\n" not in text


def test_slack_settings_are_required_to_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-abc")
    with pytest.raises(ConfigError, match="^SLACK_SIGNING_SECRET: is required"):
        load_settings().require_slack()
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5")
    assert load_settings().require_slack() == ("xoxb-1-2-abc", "8f742231b10e8888abcd99yyyzzz85a5")


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///bot.db",
        "sqlite:////var/lib/bot/bot.db",
        "postgresql:///bot",  # this machine's socket
        "postgresql://?host=/run/postgresql&dbname=bot",
        "postgresql+psycopg://bot:secret@db.internal:5432/bot",
    ],
)
def test_database_urls_that_name_a_database_are_taken(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    assert load_settings().DATABASE_URL.get_secret_value() == url


@pytest.mark.parametrize("value", ["0.1", "0.5", "15", "3600"])
def test_intervals_within_the_bounds_are_taken(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("BOT_RECONCILE_INTERVAL", value)
    assert load_settings().BOT_RECONCILE_INTERVAL == float(value)


def test_secrets_never_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing-very-secret")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-very-secret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:db-very-secret@db/bot")
    shown = repr(load_settings()) + str(load_settings())
    assert "very-secret" not in shown


@pytest.mark.parametrize(
    ("command", "name", "value", "message"),
    [
        (
            "projects list",
            "BOT_RECONCILE_INTERVAL",
            "-5",
            "must be a number of seconds from 0.1 to 3600, not -5",
        ),
        ("worker", "BOT_STUCK_AFTER", "nan", "Input should be a finite number"),
    ],
)
def test_startup_stops_with_one_line(command: str, name: str, value: str, message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", *command.split()],
        env={name: value, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"error: {name}: {message}"]


def test_installs_by_oauth_need_both_credentials_and_no_bot_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5")
    monkeypatch.setenv("SLACK_CLIENT_ID", "1234567890.987654321")
    with pytest.raises(ConfigError, match=r"^SLACK_CLIENT_SECRET: is required with the other"):
        load_settings()
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "s3cr3t-value")
    settings = load_settings()
    assert settings.oauth and settings.require_slack() == (None, "8f742231b10e8888abcd99yyyzzz85a5")
    assert settings.SLACK_AUTHORIZE_URL == "https://slack.com/oauth/v2/authorize"
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-abc")
    with pytest.raises(ConfigError, match=r"^SLACK_BOT_TOKEN: set it for one workspace") as error:
        load_settings()
    assert "s3cr3t-value" not in str(error.value) and "xoxb-1-2-abc" not in str(error.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SLACK_CLIENT_ID", "not-a-client-id"),
        ("SLACK_CLIENT_SECRET", "has space"),
        ("SLACK_REDIRECT_URI", "ftp://bot.example.com/slack/oauth_redirect"),
        ("SLACK_AUTHORIZE_URL", "slack.com/oauth/v2/authorize"),
    ],
)
def test_oauth_settings_are_checked(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=rf"^{name}: "):
        load_settings()


MISLEADING = [
    ({"DATABASE_URL": "sqlite://"}, "DATABASE_URL: is an in-memory SQLite database"),
    ({"DATABASE_URL": "postgresql://"}, "DATABASE_URL: names no database"),
    ({"BOT_RECONCILE_INTERVAL": "nan"}, "BOT_RECONCILE_INTERVAL: must be a number of seconds"),
    ({"BOT_RECONCILE_INTERVAL": "0.0001"}, "BOT_RECONCILE_INTERVAL: must be a number of seconds"),
    ({"BOT_RECONCILE_INTERVAL": "0"}, "BOT_RECONCILE_INTERVAL: must be a number of seconds"),
]


@pytest.mark.parametrize(
    "command", [["serve", "--port", "0"], ["worker", "--port", "0"], ["db", "upgrade"]]
)
@pytest.mark.parametrize(("env", "message"), MISLEADING)
def test_a_misleading_setting_stops_every_process_with_one_line(
    tmp_path: Path, command: list[str], env: dict[str, str], message: str
) -> None:
    """No traceback, no database touched, no advice that does not fit: one line naming the
    variable and what is wrong with it. (Slack settings are valid, so only `env` is wrong.)"""
    database = tmp_path / "bot.db"
    result = subprocess.run(
        [sys.executable, "-m", "bot", *command],
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "SLACK_BOT_TOKEN": "xoxb-1-2-abc",
            "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",  # nothing answers: it is never called
            "DATABASE_URL": f"sqlite:///{database}",
            **env,
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {message}"), line
    assert list(tmp_path.iterdir()) == []
