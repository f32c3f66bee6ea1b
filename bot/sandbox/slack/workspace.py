"""Who the sandbox workspace is, and the ids, timestamps and trigger ids Slack mints."""

from __future__ import annotations

import re
import secrets
import string
import threading
import time
from collections.abc import Callable
from typing import Any

JsonDict = dict[str, Any]

TEAM_ID = "T0001"
TEAM_DOMAIN = "example"
TEAM_NAME = "Example"
ENTERPRISE_ID = "E0001"
ENTERPRISE_NAME = "Globular Construct Inc"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0001"
BOT_NAME = "privatelink-bot"
APP_ID = "A0001"
DEFAULT_TOKEN = "xoxb-sandbox-token"
TRIGGER_TTL_SECONDS = 3.0

_ID_CHARS = string.ascii_uppercase + string.digits
_TRIGGER_ID = re.compile(r"^(\d+)\.(\d+)\.([0-9a-f]+)$")
_TS = re.compile(r"^\d{1,12}\.\d{6}$")


def random_id(prefix: str, length: int = 10) -> str:
    """A Slack-style id: the prefix followed by uppercase letters and digits."""
    return prefix + "".join(secrets.choice(_ID_CHARS) for _ in range(length))


def new_view_hash(now: float) -> str:
    """A view hash as Slack returns it; a fresh one on every change of the view."""
    return f"{int(now)}.{secrets.token_hex(4)}"


def new_trigger_id(*, now: float | None = None) -> str:
    """A fresh trigger id as Slack puts in an interaction payload; it carries its issue time."""
    issued = time.time() if now is None else now
    return f"{int(issued * 1000)}.{secrets.randbelow(10**9):09d}.{secrets.token_hex(16)}"


def trigger_issued_at(trigger_id: str) -> float | None:
    """When a trigger id was issued (seconds since the epoch), or None if it is malformed."""
    match = _TRIGGER_ID.match(trigger_id)
    return None if match is None else int(match.group(1)) / 1000


def is_ts(value: str) -> bool:
    """Whether a string is a message timestamp such as ``1700000000.000100``."""
    return _TS.match(value) is not None


class TsClock:
    """Mints message timestamps that strictly increase (``"1700000000.000100"``)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> str:
        """The next timestamp: the current time, or one microsecond after the previous one."""
        with self._lock:
            micros = max(int(self._now() * 1_000_000), self._last + 1)
            self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
