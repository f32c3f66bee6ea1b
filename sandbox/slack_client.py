"""Signed HTTP requests to a running bot, as Slack sends them to ``POST /slack/events``.

Build a payload with the pure builders re-exported here (``slash_command_body``,
``block_actions_payload``, ``view_submission_payload``, ``app_home_opened_payload``,
``app_uninstalled_payload``, ``tokens_revoked_payload`` …; each takes ``team_id``), then send
it with :class:`SlackRequestClient`; :class:`Delivery` chooses a forged, unsigned, stale or
retried delivery for the tests of the bot's request verification.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from sandbox.slack.payloads import (
    RESPONSE_URL,
    VERIFICATION_TOKEN,
    app_home_opened_payload,
    app_uninstalled_payload,
    block_actions_payload,
    element_action,
    event_callback,
    full_view,
    interactivity_body,
    member_joined_channel_payload,
    slash_command_body,
    state_values,
    tokens_revoked_payload,
    view_closed_payload,
    view_submission_payload,
)
from sandbox.slack.workspace import TEAM_ID, JsonDict, new_trigger_id

__all__ = [
    "RESPONSE_URL",
    "VERIFICATION_TOKEN",
    "BotResponse",
    "Delivery",
    "SlackRequestClient",
    "app_home_opened_payload",
    "app_uninstalled_payload",
    "block_actions_payload",
    "element_action",
    "event_callback",
    "full_view",
    "interactivity_body",
    "member_joined_channel_payload",
    "new_trigger_id",
    "sign",
    "signed_headers",
    "slash_command_body",
    "state_values",
    "tokens_revoked_payload",
    "view_closed_payload",
    "view_submission_payload",
]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
STALE_AGE_SECONDS = 6 * 60


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Slack's request signature: ``v0=`` and the HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + str(timestamp).encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, *, timestamp: int) -> dict[str, str]:
    """The ``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` headers for a body."""
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": sign(secret, timestamp, body),
    }


@dataclass(frozen=True)
class Delivery:
    """How a request reaches the bot: signed by default; or forged, unsigned, stale, retried."""

    secret: str | None = None
    signed: bool = True
    timestamp: int | None = None
    retry_num: int | None = None
    retry_reason: str | None = None

    @classmethod
    def forged(cls) -> Delivery:
        """Signed with a secret that is not the bot's."""
        return cls(secret="not-the-signing-secret")

    @classmethod
    def unsigned(cls) -> Delivery:
        """Without the signature and timestamp headers."""
        return cls(signed=False)

    @classmethod
    def stale(cls, *, age: int = STALE_AGE_SECONDS) -> Delivery:
        """Correctly signed, but ``age`` seconds old (Slack's limit is five minutes)."""
        return cls(timestamp=int(time.time()) - age)

    @classmethod
    def retry(cls, num: int = 1, *, reason: str = "http_timeout") -> Delivery:
        """A redelivery, with ``X-Slack-Retry-Num`` and ``X-Slack-Retry-Reason`` headers."""
        return cls(retry_num=num, retry_reason=reason)


@dataclass(frozen=True)
class BotResponse:
    """The bot's HTTP answer: status, headers (lower-case names) and body text."""

    status: int
    headers: dict[str, str]
    text: str

    @property
    def body(self) -> Any:
        """The body parsed as JSON when it is JSON, else the text ("" when empty)."""
        if not self.text.strip():
            return ""
        if "json" in self.headers.get("content-type", "") or self.text.lstrip()[:1] in ("{", "["):
            return json.loads(self.text)
        return self.text

    def json(self) -> JsonDict:
        """The body as a JSON object; ValueError if it is not one."""
        body = self.body
        if not isinstance(body, dict):
            raise ValueError(
                f"the bot answered {self.status} with a non-object body: {self.text!r}"
            )
        return body


class SlackRequestClient:
    """Sends Slack's requests to a running bot, signed with its signing secret."""

    def __init__(
        self,
        bot_url: str,
        *,
        signing_secret: str,
        path: str = "/slack/events",
        timeout: float = 10.0,
    ) -> None:
        self.url = bot_url.rstrip("/") + path
        self._secret = signing_secret
        self._timeout = timeout

    def post(
        self, body: str | bytes, *, content_type: str, delivery: Delivery = Delivery()
    ) -> BotResponse:
        """POST a raw body to the bot as Slack would, signed as ``delivery`` says."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        headers = {"Content-Type": content_type, "User-Agent": USER_AGENT}
        if delivery.signed:
            timestamp = int(time.time()) if delivery.timestamp is None else delivery.timestamp
            headers |= signed_headers(delivery.secret or self._secret, raw, timestamp=timestamp)
        if delivery.retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(delivery.retry_num)
            headers["X-Slack-Retry-Reason"] = delivery.retry_reason or "http_timeout"
        request = urllib.request.Request(self.url, data=raw, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                return _answer(response.status, dict(response.headers.items()), response.read())
        except urllib.error.HTTPError as exc:
            return _answer(exc.code, dict(exc.headers.items()), exc.read())

    def send_slash_command(self, body: str, *, delivery: Delivery = Delivery()) -> BotResponse:
        """Send a slash command body (see ``slash_command_body``), form-encoded."""
        return self.post(body, content_type=FORM, delivery=delivery)

    def send_interaction(
        self, payload: JsonDict, *, delivery: Delivery = Delivery()
    ) -> BotResponse:
        """Send an interactivity payload (block_actions, view_submission, view_closed)."""
        return self.post(interactivity_body(payload), content_type=FORM, delivery=delivery)

    def send_event(self, payload: JsonDict, *, delivery: Delivery = Delivery()) -> BotResponse:
        """Send an Events API callback, as JSON."""
        return self.post(json.dumps(payload), content_type=JSON, delivery=delivery)

    def slash_command(
        self,
        command: str,
        text: str,
        *,
        user_id: str,
        channel_id: str,
        team_id: str = TEAM_ID,
        trigger_id: str | None = None,
        response_url: str = RESPONSE_URL,
        delivery: Delivery = Delivery(),
    ) -> BotResponse:
        """Type a slash command in a channel: build its body and send it."""
        body = slash_command_body(
            command,
            text,
            user_id=user_id,
            channel_id=channel_id,
            team_id=team_id,
            trigger_id=trigger_id,
            response_url=response_url,
        )
        return self.send_slash_command(body, delivery=delivery)


def _answer(status: int, headers: dict[str, str], raw: bytes) -> BotResponse:
    lowered = {name.lower(): value for name, value in headers.items()}
    return BotResponse(status, lowered, raw.decode("utf-8", errors="replace"))
