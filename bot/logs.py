"""Log output: plain text by default, or one JSON object per line (`BOT_LOG_FORMAT=json`).

A JSON line carries the time (UTC, ISO 8601), level, logger and message, the fields a log call
passed in `extra` (worker, service, step, code, …) and, for an exception, its type and trace as
one string, so a log pipeline can index them without parsing the message.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
OWN_LEVEL_READ = ("slack_sdk.web.base_client", "slack_sdk.webhook.client")
"""Loggers whose libraries read the logger's own level, not the level in effect, before
building a debug message: unset (as it is unless told), they built one with the whole request
and response bodies on every Slack call (0.1 ms of a `views.publish` of the Home tab), for
nothing to print it."""
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def setup(log_format: str = "text") -> None:
    """Send INFO and above to standard error, as text or as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for name in OWN_LEVEL_READ:
        logging.getLogger(name).setLevel(root.level)
