"""The HTTP surface: Slack's requests, a health check and Prometheus metrics, as WSGI apps."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import Engine

from bot import observability
from bot.slack.dispatch import Dispatch
from bot.slack.gate import Gate, origin_of
from bot.storage.db import ping
from bot.worker.health import Heartbeat

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

SLACK_PATH = "/slack/events"
TEXT = "text/plain; charset=utf-8"
JSON = "application/json"
PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


class StatusApp:
    """`GET /healthz` and `GET /metrics` of a process; anything else is 404.

    `/healthz` answers 200 `ok` while the database answers and, in a process running the
    worker (`worker` set), while its loops pass; otherwise 503 with one line of JSON saying why.
    """

    def __init__(self, *, engine: Engine, metrics: Callable[[], str]) -> None:
        self.engine = engine
        self.metrics = metrics
        self.worker: Heartbeat | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/healthz" and method == "GET":
            problem = self.problem()
            if problem is None:
                return _reply(start_response, "200 OK", TEXT, b"ok\n")
            return _reply(start_response, "503 Service Unavailable", JSON, problem.encode() + b"\n")
        if path == "/metrics" and method == "GET":
            return _reply(start_response, "200 OK", PROMETHEUS, self.metrics().encode())
        return self.other(environ, start_response)

    def problem(self) -> str | None:
        """Why this process is not healthy (one line of JSON), or None."""
        if not ping(self.engine):
            return json.dumps({"status": "unhealthy", "reason": "the database does not answer"})
        return self.worker.problem() if self.worker is not None else None

    def other(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Any other request."""
        return _reply(start_response, "404 Not Found", TEXT, b"not found\n")


class WebApp(StatusApp):
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
        super().__init__(engine=engine, metrics=metrics)
        self.slack = SlackRequestHandler(app, path=SLACK_PATH)
        self.gate = Gate(
            Dispatch(app, path=SLACK_PATH),
            signing_secret=lambda: signing_secret,
            response_origins=(origin_of(api_url),),
        )

    def other(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Slack's requests, through the gate; with installs by OAuth, Bolt's install pages
        (`GET /slack/install`, `GET /slack/oauth_redirect`); anything else is 404."""
        path = environ.get("PATH_INFO", "")
        if path == SLACK_PATH:
            with observability.SLACK_ANSWER_SECONDS.time():
                return self.gate(environ, start_response)
        flow = self.slack.app.oauth_flow
        if flow is not None and environ.get("REQUEST_METHOD") == "GET":
            if path in (flow.install_path, flow.redirect_uri_path):
                return self.slack(environ, start_response)
        return super().other(environ, start_response)


def _reply(
    start_response: StartResponse, status: str, content_type: str, body: bytes
) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
