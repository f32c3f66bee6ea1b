"""The Web API client's kept-alive connections (bot.slack.connections), against an HTTP server
that counts the connections it accepts and answers as Slack's Web API does."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.slack import connections
from bot.slack.client import MeteredWebClient, without_retries

TOKEN = "xoxb-connections-test"


class Api(ThreadingHTTPServer):
    """Slack's Web API as far as these tests need: auth.test answers, and `plan` says how the
    next calls are answered: a status with its headers, or a close after reading the request."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.accepted = 0
        self.calls: list[str] = []
        self.plan: list[tuple[int, dict[str, str]]] = []
        self.idle_timeout: float | None = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Api

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout  # closes a connection idle this long
        super().setup()
        with self.server.lock:
            self.server.accepted += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.calls.append(self.path)
            status, headers = self.server.plan.pop(0) if self.server.plan else (200, {})
        body = json.dumps({"ok": status == 200, "error": None if status == 200 else "nope"})
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body.encode())
        if headers.get("Connection") == "close":
            self.close_connection = True


@pytest.fixture
def api() -> Iterator[Api]:
    server = Api()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def client(api: Api, **kwargs: Any) -> MeteredWebClient:
    return MeteredWebClient(token=TOKEN, base_url=api.url, timeout=5, **kwargs)


def test_one_threads_calls_share_one_connection(api: Api) -> None:
    first, second = client(api), client(api)  # a client per request, as with OAuth installs
    for _ in range(5):
        assert first.auth_test()["ok"]
        assert second.api_call("views.publish", json={"user_id": "U1", "view": {}})["ok"]
    assert api.accepted == 1
    assert api.calls == ["/api/auth.test", "/api/views.publish"] * 5


def test_each_thread_has_its_own_connection(api: Api) -> None:
    shared = client(api)
    threads = [threading.Thread(target=shared.auth_test) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert api.accepted == 3 and len(api.calls) == 3


def test_a_connection_the_server_closed_while_idle_is_not_used(api: Api) -> None:
    api.idle_timeout = 0.2
    web = without_retries(client(api))  # no retry could hide a call lost on a dead connection
    assert web.auth_test()["ok"]
    threading.Event().wait(0.6)  # the server has closed it
    assert web.auth_test()["ok"]
    assert api.accepted == 2 and len(api.calls) == 2


def test_a_connection_idle_too_long_is_not_used(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connections, "IDLE_SECONDS", 0.1)
    web = client(api)
    assert web.auth_test()["ok"]
    threading.Event().wait(0.3)  # the server would keep it: servers behind balancers may not
    assert web.auth_test()["ok"]
    assert api.accepted == 2


def test_an_answer_that_closes_its_connection_is_not_kept(api: Api) -> None:
    api.plan = [(200, {"Connection": "close"})]
    web = client(api)
    assert web.auth_test()["ok"]
    assert web.auth_test()["ok"]
    assert api.accepted == 2


def test_errors_are_read_and_retried_as_slack_sdk_does(api: Api) -> None:
    api.plan = [(429, {"Retry-After": "0"}), (503, {})]  # then 200
    assert client(api).auth_test()["ok"]  # retried twice, on the same connection
    assert api.calls == ["/api/auth.test"] * 3 and api.accepted == 1
    api.plan = [(500, {})]
    with pytest.raises(SlackApiError) as raised:
        without_retries(client(api)).api_call("chat.postMessage", json={"channel": "C1"})
    assert raised.value.response.status_code == 500
    assert client(api).auth_test()["ok"]  # the connection is still good after an error
    assert api.accepted == 1


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_https_shakes_hands_once(api: Api, tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    served.load_cert_chain(cert, key)
    api.socket = served.wrap_socket(api.socket, server_side=True)
    trusted = ssl.create_default_context(cafile=str(cert))
    web = MeteredWebClient(
        token=TOKEN, base_url=api.url.replace("http:", "https:"), timeout=5, ssl=trusted
    )
    for _ in range(3):
        assert web.auth_test()["ok"]
    assert api.accepted == 1
    with pytest.raises(ssl.SSLError):  # a certificate not trusted is refused, as urllib does
        MeteredWebClient(token=TOKEN, base_url=api.url.replace("http:", "https:")).auth_test()


def test_a_forked_process_keeps_none_of_its_parents_connections(api: Api) -> None:
    web = client(api)
    assert web.auth_test()["ok"]
    assert connections._kept()  # this thread keeps one
    pid = os.fork()
    if pid == 0:  # the child: as a serving process forked by gunicorn's arbiter
        os._exit(0 if not connections._kept() else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert web.auth_test()["ok"] and api.accepted == 1  # the parent's is still its own


def test_a_connection_numbered_past_1023_is_reused(api: Api) -> None:
    """A serving process holds up to 1,000 client connections: its Slack connections can get
    descriptors select() cannot watch."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("the hard open-files limit is below 1,200")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = []
    try:
        while True:  # take the low descriptors, so the connection gets a high one
            held.append(os.open(os.devnull, os.O_RDONLY))
            if held[-1] >= 1030:
                break
        web = client(api)
        assert web.auth_test()["ok"] and web.auth_test()["ok"]
        [kept] = [k for key, k in connections._kept().items() if key[2] == api.server_address[1]]
        assert kept.connection.sock is not None and kept.connection.sock.fileno() > 1023
        assert api.accepted == 1
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
