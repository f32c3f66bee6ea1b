"""Log lines as text by default, and as one JSON object per line with BOT_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot.config import Settings
from bot.logs import OWN_LEVEL_READ, JsonFormatter, setup


def test_a_json_line_carries_level_message_logger_and_extra_fields() -> None:
    record = logging.LogRecord("bot.worker", logging.WARNING, __file__, 1, "pass %s", ("x",), None)
    record.__dict__.update({"worker": "w1", "code": "Throttling"})
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "WARNING" and line["message"] == "pass x"
    assert line["logger"] == "bot.worker" and line["timestamp"].endswith("+00:00")
    assert (line["worker"], line["code"]) == ("w1", "Throttling")


def test_an_exception_is_one_string_in_its_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("bot", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = json.loads(JsonFormatter().format(record))
    assert "RuntimeError: boom" in line["exception"]


def test_the_format_is_a_setting() -> None:
    assert Settings().BOT_LOG_FORMAT == "text"
    assert Settings(BOT_LOG_FORMAT="json").BOT_LOG_FORMAT == "json"  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Settings(BOT_LOG_FORMAT="xml")  # type: ignore[arg-type]


def test_a_command_logs_json_lines(tmp_path: object) -> None:
    code = (
        "import logging; from bot import logs; logs.setup('json');"
        "logging.getLogger('bot.test').info('hello %s', 'world', extra={'worker': 'w'})"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    [line] = [json.loads(text) for text in done.stderr.splitlines()]
    assert line["message"] == "hello world" and line["level"] == "INFO" and line["worker"] == "w"


def test_slack_sdk_builds_no_debug_message_nothing_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk reads its logger's own level (unset: 0, below DEBUG) before formatting a
    request's whole body for a debug line; `setup` gives its loggers the level in effect."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    for name in OWN_LEVEL_READ:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    setup()
    for name in OWN_LEVEL_READ:
        assert logging.getLogger(name).level == logging.INFO, name
    client = WebClient(token="xoxb-test")
    assert client.logger.name in OWN_LEVEL_READ
    assert client.logger.level > logging.DEBUG, "slack_sdk would format every body"
    assert WebhookClient("https://hooks.slack.com/x").logger.name in OWN_LEVEL_READ
