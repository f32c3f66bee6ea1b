"""Who the sandbox workspaces are, and the ids, tokens, timestamps and trigger ids Slack mints.

The default workspace (``TEAM_ID``, answered for ``DEFAULT_TOKEN``) is always there; others are
added by team id, and their bot user, bot and domain follow from it (``bot_user_id_for`` …), so
a payload built for a team id names the same bot the stand-in answers as.
"""

from __future__ import annotations

import re
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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
SANDBOX_CLIENT_ID = "0001.0001"  # the stand-in app's OAuth client id …
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"  # … and client secret
INSTALLER_USER_ID = "U0INSTALLER"  # who approves an install when the test names nobody
CODE_TTL_SECONDS = 600.0  # an OAuth code is good for ten minutes, as Slack's are

_ID_CHARS = string.ascii_uppercase + string.digits
_TRIGGER_ID = re.compile(r"^(\d+)\.(\d+)\.([0-9a-f]+)$")
_TS = re.compile(r"^\d{1,12}\.\d{6}$")
_TEAM_ID = re.compile(r"^T[A-Z0-9]{2,}$")


def is_team_id(value: str) -> bool:
    """Whether a string looks like a Slack team id (``T`` then uppercase letters and digits)."""
    return _TEAM_ID.match(value) is not None


def bot_user_id_for(team_id: str) -> str:
    """The app's bot user in a workspace: ``BOT_USER_ID`` in the default one, else derived."""
    return BOT_USER_ID if team_id == TEAM_ID else f"U{team_id[1:]}BOT"


def bot_id_for(team_id: str) -> str:
    """The app's bot id in a workspace (``BOT_ID`` in the default one)."""
    return BOT_ID if team_id == TEAM_ID else f"B{team_id[1:]}"


def team_domain_for(team_id: str) -> str:
    """A workspace's default domain (``TEAM_DOMAIN`` for the default one)."""
    return TEAM_DOMAIN if team_id == TEAM_ID else f"team-{team_id[1:].lower()}"


@dataclass(frozen=True)
class TeamIdentity:
    """Who a workspace is, and who the app's bot is in it."""

    id: str = TEAM_ID
    name: str = TEAM_NAME
    domain: str = TEAM_DOMAIN
    bot_user_id: str = BOT_USER_ID
    bot_id: str = BOT_ID

    @classmethod
    def of(
        cls, team_id: str, *, name: str | None = None, domain: str | None = None
    ) -> TeamIdentity:
        """The identity of a workspace by its id; unset names and domains are derived."""
        return cls(
            team_id,
            name or f"Team {team_id}",
            domain or team_domain_for(team_id),
            bot_user_id_for(team_id),
            bot_id_for(team_id),
        )

    @property
    def url(self) -> str:
        """The workspace's URL, as auth.test reports it."""
        return f"https://{self.domain}.slack.com/"

    def to_json(self) -> JsonDict:
        """The identity as a JSON object."""
        return {
            "id": self.id,
            "name": self.name,
            "domain": self.domain,
            "bot_user_id": self.bot_user_id,
            "bot_id": self.bot_id,
        }

    @classmethod
    def from_json(cls, data: JsonDict) -> TeamIdentity:
        """An identity from its JSON object."""
        return cls(data["id"], data["name"], data["domain"], data["bot_user_id"], data["bot_id"])


def new_bot_token(team_id: str) -> str:
    """A fresh bot token as an install issues it (``xoxb-`` …), different on every call."""
    return f"xoxb-{team_id[1:].lower()}-{secrets.randbelow(10**12):012d}-{secrets.token_hex(12)}"


def new_oauth_code(*, now: float) -> str:
    """A fresh one-use OAuth code, shaped as Slack's are."""
    return f"{int(now * 1000)}.{secrets.randbelow(10**12):012d}.{secrets.token_hex(32)}"


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
