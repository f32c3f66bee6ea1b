"""The HTTP surface: Slack's requests, a health check and Prometheus metrics, as one WSGI app."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine

from bot import observability
from bot.slack.gate import Gate, origin_of
from bot.storage.db import ping

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

SLACK_PATH = "/slack/events"
TEXT = "text/plain; charset=utf-8"
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


class WebApp:
    """Routes `POST /slack/events` to Bolt through the gate (size, signature, shape), and
    `GET /healthz` and `GET /metrics` to the bot; anything else is 404."""

    def __init__(
        self,
        *,
        app: App,
        engine: Engine,
        metrics: Callable[[], str],
        signing_secret: str,
        api_url: str,
    ) -> None:
        self.slack = SlackRequestHandler(app, path=SLACK_PATH)
        self.gate = Gate(
            self.slack,
            signing_secret=lambda: signing_secret,
            response_origins=(origin_of(api_url),),
        )
        self.engine = engine
        self.metrics = metrics

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method == "GET":
            healthy = ping(self.engine)
            status = "200 OK" if healthy else "503 Service Unavailable"
            return _reply(start_response, status, TEXT, b"ok\n" if healthy else b"database down\n")
        if path == "/metrics" and method == "GET":
            return _reply(start_response, "200 OK", PROMETHEUS, self.metrics().encode())
        if path == SLACK_PATH:
            with observability.SLACK_ANSWER_SECONDS.time():
                return self.gate(environ, start_response)
        return _reply(start_response, "404 Not Found", TEXT, b"not found\n")


def _reply(
    start_response: StartResponse, status: str, content_type: str, body: bytes
) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
