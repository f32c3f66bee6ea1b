"""The stand-in over HTTP: ``/api/<method>`` and ``/oauth/v2/authorize`` as Slack serves them,
plus ``/_standin/`` and hooks."""

from __future__ import annotations

import json
import logging
import secrets
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

from sandbox.slack import control
from sandbox.slack.args import decode_json_fields
from sandbox.slack.faults import Reply
from sandbox.slack.oauth import AUTHORIZE_PATH, basic_credentials
from sandbox.slack.socket_link import accept_key
from sandbox.slack.standin import SlackStandIn
from sandbox.slack.workspace import (
    DEFAULT_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    TEAM_ID,
    TRIGGER_TTL_SECONDS,
    JsonDict,
)

log = logging.getLogger(__name__)
POLL_SECONDS = 0.05  # how soon stop() is noticed
SOCKET_PATH = "/socket-mode/"  # where apps.connections.open sends Socket Mode apps


def parse_api_request(
    *, content_type: str, body: bytes, query: str, authorization: str | None
) -> tuple[JsonDict, str | None]:
    """The arguments and token of a Web API request, form-encoded or JSON, as Slack reads them;
    an app's client id and secret sent with HTTP Basic auth become those two arguments."""
    args: JsonDict = dict(parse_qsl(query, keep_blank_values=True))
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        decoded = json.loads(body) if body.strip() else {}
        if not isinstance(decoded, dict):
            raise ValueError("a JSON body must be an object")
        args.update(decoded)
        form_token = None
    else:
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        form_token = args.get("token")
    args.pop("token", None)
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[len("bearer ") :].strip()
    client = basic_credentials(authorization)
    if client is not None:
        args["client_id"], args["client_secret"] = client
    return decode_json_fields(args), token or form_token


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops bursts of concurrent connections

    def __init__(self, address: tuple[str, int], standin: SlackStandIn) -> None:
        super().__init__(address, _Handler)
        self.standin = standin


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SlackStandIn/1.0"
    # Headers and body go out as two writes: without this, on a kept-alive connection the
    # second waits for the client's delayed ACK (40 ms), which Slack's servers never make it do.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, verb: str) -> None:
        standin = cast(_Server, self.server).standin
        url = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if url.path == SOCKET_PATH and verb == "GET":
            self._socket(standin)
        elif url.path == AUTHORIZE_PATH and verb == "GET":
            self._authorize(standin, url.query)
        elif url.path == "/api/apps.connections.open":
            self._open_connection(standin)
        elif url.path.startswith("/api/"):
            self._answer(self._api(standin, url.path[len("/api/") :], url.query, raw))
        elif url.path.startswith("/_standin/"):
            status, body = control.route(
                standin, verb, url.path[len("/_standin/") :], url.query, raw
            )
            self._send(status, body)
        elif url.path.startswith("/hooks/") and verb == "POST":
            self._hook(standin, url.path, raw)
        else:
            self._send(404, {"ok": False, "error": "not_found"})

    def _api(self, standin: SlackStandIn, method: str, query: str, raw: bytes) -> Reply:
        try:
            args, token = parse_api_request(
                content_type=self.headers.get("Content-Type", ""),
                body=raw,
                query=query,
                authorization=self.headers.get("Authorization"),
            )
        except (ValueError, UnicodeDecodeError):
            reply = Reply(200, {"ok": False, "error": "invalid_json"})
            standin.record(method, {}, reply)
            return reply
        return standin.handle(method, args, token=token)

    def _authorize(self, standin: SlackStandIn, query: str) -> None:
        """The authorize page: a redirect back to the app, or a page saying what is wrong."""
        answer = standin.authorize(query)
        if answer.location is not None:
            self._send_text(302, "", {"Location": answer.location})
        else:
            self._send_text(answer.status, f"Slack could not install the app: {answer.error}\n")

    def _answer(self, reply: Reply) -> None:
        """Send a Web API answer: late, or never (a TCP reset) if a fault says so."""
        if reply.delay:
            time.sleep(reply.delay)
        if reply.reset:
            linger = struct.pack("ii", 1, 0)  # close at once with RST, as a dropped link does
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
            self.close_connection = True
            self.connection.close()
            return
        try:
            self._send(reply.status, reply.body, reply.headers)
        except OSError:
            if not reply.delay:
                raise
            self.close_connection = True  # the client gave up waiting and hung up
            log.debug("a late answer found its client gone")

    def _open_connection(self, standin: SlackStandIn) -> None:
        """apps.connections.open: a Socket Mode URL, for an app-level token only."""
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if not token.startswith("xapp-"):
            reply = Reply(200, {"ok": False, "error": "not_allowed_token_type"})
        else:
            host, port = self.connection.getsockname()[:2]
            url = f"ws://{host!s}:{port}{SOCKET_PATH}?ticket={secrets.token_hex(8)}"
            reply = Reply(200, {"ok": True, "url": url})
        standin.record("apps.connections.open", {}, reply)
        self._send(reply.status, reply.body)

    def _socket(self, standin: SlackStandIn) -> None:
        """Upgrade to a WebSocket and hand the connection to the stand-in's Socket Mode links."""
        key = self.headers.get("Sec-WebSocket-Key")
        if self.headers.get("Upgrade", "").lower() != "websocket" or not key:
            self._send(400, {"ok": False, "error": "not_a_websocket"})
            return
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept_key(key))
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        standin.links.serve(self.rfile, self.wfile)

    def _hook(self, standin: SlackStandIn, path: str, raw: bytes) -> None:
        try:
            body = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            self._send(400, {"ok": False, "error": "invalid_payload"})
            return
        if not isinstance(body, dict):
            self._send(400, {"ok": False, "error": "invalid_payload"})
            return
        standin.record_response_url(path, body)
        self._send(200, {"ok": True})

    def _send(self, status: int, body: JsonDict, headers: dict[str, str] | None = None) -> None:
        self._write(status, json.dumps(body).encode("utf-8"), "application/json", headers)

    def _send_text(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        self._write(status, text.encode("utf-8"), "text/plain", headers)

    def _write(
        self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class RunningStandIn:
    """A stand-in served on a background thread; ``stop()`` (or ``with``) shuts it down."""

    def __init__(self, standin: SlackStandIn, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.standin = standin
        self._server = _Server((host, port), standin)
        bound_host, bound_port = self._server.server_address[:2]
        self.root_url = f"http://{bound_host!s}:{bound_port}/"
        self.api_url = f"{self.root_url}api/"
        self._hooks = count(1)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name="slack-standin",
            daemon=True,
        )
        self._thread.start()

    def response_url(self, *, team: str = TEAM_ID) -> str:
        """A fresh ``response_url`` served by the stand-in, for a workspace's slash commands."""
        return f"{self.root_url}hooks/commands/{team}/{next(self._hooks)}/{secrets.token_hex(8)}"

    def authorize_url(self) -> str:
        """The stand-in's ``/oauth/v2/authorize``, for Bolt's ``authorization_url``."""
        return self.root_url + AUTHORIZE_PATH.lstrip("/")

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> RunningStandIn:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start(
    standin: SlackStandIn | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> tuple[str, RunningStandIn]:
    """Serve a stand-in on a background thread (a free port by default); its API URL and handle."""
    running = RunningStandIn(standin or SlackStandIn(), host=host, port=port)
    return running.api_url, running


def serve(
    host: str = "127.0.0.1",
    port: int = 8790,
    token: str = DEFAULT_TOKEN,
    *,
    trigger_ttl: float | None = TRIGGER_TTL_SECONDS,
    rate_limit: bool = False,
    client_id: str = SANDBOX_CLIENT_ID,
    client_secret: str = SANDBOX_CLIENT_SECRET,
    redirect_uri: str | None = None,
) -> None:
    """Serve a stand-in in the foreground until interrupted."""
    standin = SlackStandIn(
        token=token,
        trigger_ttl=trigger_ttl,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uri=redirect_uri,
    )
    if rate_limit:
        standin.limit_rate()
    with _Server((host, port), standin) as server:
        log.info("Slack Web API stand-in on http://%s:%d/api/", host, port)
        server.serve_forever()
