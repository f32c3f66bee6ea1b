"""The gate in front of Bolt: size, signature and shape of every Slack request, before any parse.

Nothing a client sends reaches Bolt's parsing unless it is small (`MAX_BODY`, else 413), signed
with the signing secret within five minutes (else 401) and shaped as Slack shapes its requests
(else 400): form or JSON that decodes, every field a listener reads present with its type, Slack
ids no longer than the database keeps them. A refused request is counted on /metrics
(`privatelink_http_refused_total` by reason) and never logged with its body or a traceback.
`shape_error` is also run on Socket Mode's payloads, which arrive without HTTP. Slack's
`ssl_check` is answered here as Bolt answers it (200, empty), signed or not, and goes no further.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Iterable, Mapping
from io import BytesIO
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from prometheus_client import Counter

from bot.domain.validation import SLACK_ID_MAX
from bot.observability import REGISTRY
from bot.slack.dispatch import BODY, RAW_BODY
from bot.slack.forms import read_body

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MAX_BODY = 256 * 1024
"""Slack's largest request to this bot (a modal's submission) is a few tens of KB."""
MAX_AGE_SECONDS = 5 * 60
SSL_CHECK_MAX = 1024  # Slack's ssl_check body is `ssl_check=1&token=<24 characters>`
TEXT_MAX = 4000  # a slash command's text; Slack caps it lower
ACTION_VALUE_MAX = 2000  # Slack's limit on a button's value
METADATA_MAX = 3000  # Slack's limit on private_metadata
_SLACK_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{SLACK_ID_MAX}}}", re.ASCII)
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}", re.ASCII)
INTERACTIVE = ("block_actions", "view_submission", "view_closed")
SLACK_HOOKS = "https://hooks.slack.com/"

REFUSED = Counter(
    "privatelink_http_refused_total",
    "Requests refused before Bolt saw them, by reason (too_large, unsigned, malformed, method).",
    ["reason"],
    registry=REGISTRY,
)


class Refused(Exception):
    """A request the gate does not let through: its HTTP status and a short reason."""

    def __init__(self, status: str, reason: str, text: str) -> None:
        super().__init__(text)
        self.status, self.reason, self.text = status, reason, text


def signature_error(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> str | None:
    """Why the request is not signed by Slack with `secret` just now, or None if it is.

    Not slack_sdk's SignatureVerifier: it raises on a text timestamp and decodes the body as
    UTF-8 before hashing, so junk would crash it; this hashes the raw bytes."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
        return "missing or malformed signature headers"
    if abs((now if now is not None else time.time()) - int(timestamp)) > MAX_AGE_SECONDS:
        return "stale timestamp"
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, signature) else "wrong signature"


def parse(body: bytes, content_type: str) -> tuple[str, dict[str, Any]]:
    """The body as text and as Bolt reads it (form fields, the `payload` JSON, or the JSON
    object: `bot.slack.forms`, read as Bolt's parser reads it), or Refused."""
    try:
        text = body.decode("utf-8")
        parsed: Any = read_body(text, content_type.split(";")[0] or None)
    except (UnicodeDecodeError, ValueError) as error:
        raise _malformed(f"unreadable body ({type(error).__name__})") from None
    if not isinstance(parsed, dict):
        raise _malformed("the body is not an object")
    return text, parsed


def shape_error(body: Mapping[str, Any], *, response_origins: tuple[str, ...] = ()) -> str | None:
    """What is missing or out of bounds in a parsed Slack request, or None if it has the shape
    every listener relies on. A `response_url` the bot would post to must start with Slack's
    hooks origin or one of `response_origins` (the Web API's own, for a local stand-in)."""
    url = body.get("response_url")
    if url is not None and not (
        isinstance(url, str)
        and len(url) <= 1024
        and url.startswith((SLACK_HOOKS, *response_origins))
    ):
        return "response_url is not Slack's"
    kind = body.get("type")
    if "command" not in body and not isinstance(kind, str):
        return "no type"
    try:  # Bolt routes by `type` and by `command`: a body with both is checked as both
        _objects(body)
        if "command" in body:
            _command(body)
        if kind in INTERACTIVE:
            _interactive(body)
        if kind == "event_callback":
            _event(body)
    except _Shape as error:
        return str(error)
    return None


class Gate:
    """WSGI middleware: lets through only small, signed, well-shaped Slack requests."""

    def __init__(
        self,
        app: WSGIApplication,
        *,
        signing_secret: Callable[[], str],
        response_origins: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.signing_secret = signing_secret
        self.response_origins = response_origins

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            read = self._admit(environ)
            if read is None:  # Slack's ssl_check: answered as Bolt answers it
                start_response(
                    "200 OK",
                    [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", "0")],
                )
                return [b""]
        except Refused as refused:
            REFUSED.labels(reason=refused.reason).inc()
            text = f"{refused.text}\n".encode()
            start_response(
                refused.status,
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(text)))],
            )
            return [text]
        body, environ[RAW_BODY], environ[BODY] = read  # read once: bot.slack.dispatch
        environ["wsgi.input"] = BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)

    def _admit(self, environ: WSGIEnvironment) -> tuple[bytes, str, dict[str, Any]] | None:
        """The body to hand to Bolt, as bytes, text and read; None for Slack's ssl_check, which
        gets an empty 200."""
        if environ.get("REQUEST_METHOD") != "POST":
            raise Refused("405 Method Not Allowed", "method", "POST only")
        body = _read(environ)
        if is_ssl_check(body, str(environ.get("CONTENT_TYPE", ""))):
            return None
        headers = {
            "x-slack-request-timestamp": str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")),
            "x-slack-signature": str(environ.get("HTTP_X_SLACK_SIGNATURE", "")),
        }
        why = signature_error(self.signing_secret(), headers, body)
        if why is not None:
            raise Refused("401 Unauthorized", "unsigned", f"invalid request: {why}")
        text, parsed = parse(body, str(environ.get("CONTENT_TYPE", "")))
        problem = shape_error(parsed, response_origins=self.response_origins)
        if problem is not None:
            raise _malformed(problem)
        return body, text, parsed


def is_ssl_check(body: bytes, content_type: str) -> bool:
    """Whether the body is Slack's `ssl_check` (a form POST `ssl_check=1&token=…`, sent when the
    app's request URL is saved). Bolt answers it with an empty 200 before checking the
    signature, which Slack may leave out, and acts on nothing else in it; so does the gate.
    Read as Bolt reads a form (`dict(parse_qsl(…))`: the last value of a repeated field), from
    a small body only: Slack's is a few dozen bytes."""
    if len(body) > SSL_CHECK_MAX or content_type.split(";")[0].strip() == "application/json":
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if text.startswith("{") or "payload" in text:  # Bolt reads these as JSON
        return False
    return dict(parse_qsl(text, keep_blank_values=True)).get("ssl_check") == "1"


def _read(environ: WSGIEnvironment) -> bytes:
    """The body, read no further than MAX_BODY + 1 bytes."""
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if declared and not declared.isdigit():
        raise _malformed("bad Content-Length")
    if declared and int(declared) > MAX_BODY:
        raise Refused("413 Content Too Large", "too_large", f"body over {MAX_BODY} bytes")
    limit = int(declared) if declared else MAX_BODY + 1
    body = environ["wsgi.input"].read(limit)
    if len(body) > MAX_BODY:
        raise Refused("413 Content Too Large", "too_large", f"body over {MAX_BODY} bytes")
    return bytes(body)


def _malformed(why: str) -> Refused:
    return Refused("400 Bad Request", "malformed", f"malformed request: {why}")


class _Shape(ValueError):
    """A field a listener reads is missing, of the wrong type or too long."""


def _text(value: Any, what: str, *, limit: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or len(value) > limit:
        raise _Shape(f"{what} is not a string of at most {limit} characters")


def _slack_id(value: Any, what: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not _SLACK_ID.fullmatch(value):
        raise _Shape(f"{what} is not a Slack id")


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _Shape(f"{what} is not an object")
    return value


OBJECTS = ("view", "user", "channel", "event", "container", "message")
"""Fields Slack sends as objects, which Bolt's own routing and logging read inside."""
NULLABLE_OBJECTS = ("team", "enterprise")


def _objects(body: Mapping[str, Any]) -> None:
    """Every field Bolt looks inside, whatever the type, is an object (or null where Slack
    sends null), and actions are a list of objects."""
    for field in OBJECTS:
        if field in body:
            _object(body[field], field)
    for field in NULLABLE_OBJECTS:
        if body.get(field) is not None:
            _object(body[field], field)
    if "actions" in body:
        actions = body["actions"]
        if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
            raise _Shape("actions is not a list of objects")


def _command(body: Mapping[str, Any]) -> None:
    _text(body.get("command"), "command", limit=64)
    _text(body.get("text", ""), "text", limit=TEXT_MAX)
    for field in ("user_id", "channel_id", "team_id"):
        _slack_id(body.get(field), field)
    _text(body.get("trigger_id"), "trigger_id", limit=256, optional=True)


def _interactive(body: Mapping[str, Any]) -> None:
    _slack_id(_object(body.get("user"), "user").get("id"), "user.id")
    _slack_id(_object(body.get("team"), "team").get("id"), "team.id")
    _text(body.get("trigger_id"), "trigger_id", limit=256, optional=True)
    if "channel" in body and body["channel"] is not None:
        _slack_id(_object(body["channel"], "channel").get("id"), "channel.id")
    if body["type"] != "block_actions" or "view" in body:
        view = _object(body.get("view"), "view")
        _slack_id(view.get("id"), "view.id")
        _text(view.get("private_metadata", ""), "view.private_metadata", limit=METADATA_MAX)
        _text(view.get("callback_id", ""), "view.callback_id", limit=255)
        _text(view.get("hash"), "view.hash", limit=255, optional=True)
        if "state" in view:
            _object(_object(view["state"], "view.state").get("values", {}), "view.state.values")
    if body["type"] == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions:
            raise _Shape("actions is not a non-empty list")
        for action in actions:
            action = _object(action, "action")
            _text(action.get("action_id"), "action_id", limit=255)
            _text(action.get("value"), "action value", limit=ACTION_VALUE_MAX, optional=True)
            if "selected_option" in action:
                option = _object(action["selected_option"], "selected_option")
                _text(option.get("value"), "option value", limit=ACTION_VALUE_MAX)


def _event(body: Mapping[str, Any]) -> None:
    _slack_id(body.get("team_id"), "team_id")
    event = _object(body.get("event"), "event")
    _text(event.get("type"), "event.type", limit=64)
    if event["type"] == "app_home_opened":
        _slack_id(event.get("user"), "event.user")
    if event["type"] == "member_joined_channel":
        _slack_id(event.get("user"), "event.user")
        _slack_id(event.get("channel"), "event.channel")


def origin_of(url: str) -> str:
    """`scheme://host[:port]/` of a URL: where a local Slack stand-in answers response URLs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"
