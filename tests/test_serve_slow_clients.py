"""Slow and idle clients against `python -m bot serve --processes 2`, on Postgres, with real
sockets: a dozen connections trickling their header lines and a dozen trickling a body, or
1,100 connections that send nothing, while signed commands and `/healthz` are still answered
within a couple of seconds each; an idle connection is closed by the server after its 15 s
(`bot.server.LIMITS`), and `serve` raises its own open-files limit to hold 1,000 connections
a process. One process (waitress alone) is held to the same by tests/slack/test_hostile.py."""

from __future__ import annotations

import resource
import select
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.server import LIMITS, OPEN_FILES
from bot.storage.db import make_sessionmaker
from sandbox.slack_api import RunningStandIn
from sandbox.slack_client import SlackRequestClient
from tests.slack import conftest as slack_fixtures
from tests.slack.conftest import SECRET, World, seed
from tests.slack.test_serve import get
from tests.test_serve_processes import help_command, on_postgres, serve_env, serving

SLOW_CLIENTS = 12  # of each kind: header lines, and a body
TRICKLE_SECONDS = 1.0  # one header line, or one byte of body, this often
PROBE_SECONDS = 8.0
ANSWER_SECONDS = 2.0  # the longest a command or /healthz may take meanwhile
IDLE_CLIENTS = 1100
DEFAULT_OPEN_FILES = 1024  # the usual soft limit, which 1,000 connections would exceed
IDLE_SECONDS: float = LIMITS["channel_timeout"]
CLOSE_WITHIN = IDLE_SECONDS + LIMITS["cleanup_interval"] + 5.0  # idle, the sweep, the loop

standin = slack_fixtures.standin  # the Slack stand-in on a free port, shared with tests/slack
world = slack_fixtures.world  # the bot served by waitress in this process, as in tests/slack


@pytest.fixture
def open_files() -> Iterator[None]:
    """This test process may hold the idle clients' sockets (its soft limit raised if need be)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = IDLE_CLIENTS + 200
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"needs {wanted} open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def usual_open_files() -> None:
    """In the serve process before it runs: the soft open-files limit most systems start with."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (DEFAULT_OPEN_FILES, hard))


def soft_open_files(pid: int) -> int:
    """A process's soft limit on open files, from /proc."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError(f"no open-files limit for {pid}")


def address(base: str) -> tuple[str, int]:
    host, port = base.removeprefix("http://").split(":")
    return host, int(port)


def answer_times(base: str, client: SlackRequestClient, seconds: float) -> list[float]:
    """A signed `help` and a `GET /healthz`, again and again for `seconds`: how long each took
    (each answered as it should, or the test fails)."""
    took: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        assert help_command(client) == 200
        middle = time.monotonic()
        assert get(f"{base}/healthz") == (200, "ok\n")
        took += [middle - started, time.monotonic() - middle]
        time.sleep(0.2)
    return took


def heard_from(connection: socket.socket) -> bool:
    """Whether the server answered or closed `connection` (it has something to read)."""
    return bool(select.select([connection], [], [], 0)[0])


@dataclass
class Trickle:
    """SLOW_CLIENTS connections sending their header lines, and as many sending a body, one line
    or one byte each every TRICKLE_SECONDS, until stopped: requests that never end."""

    to: tuple[str, int]
    connections: list[socket.socket] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)

    def run(self) -> None:
        start = b"POST /slack/events HTTP/1.1\r\nHost: bot\r\n"
        heads = [self._open(start) for _ in range(SLOW_CLIENTS)]
        form = b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
        bodies = [self._open(start + form) for _ in range(SLOW_CLIENTS)]
        self.started.set()
        sent = 0
        while not self.stop.wait(TRICKLE_SECONDS):
            sent += 1
            for connection in heads:
                self._send(connection, f"X-Slow-{sent}: {sent}\r\n".encode())
            for connection in bodies:
                self._send(connection, b"a")

    def _open(self, first: bytes) -> socket.socket:
        connection = socket.create_connection(self.to, timeout=5)
        self.connections.append(connection)
        self._send(connection, first)
        return connection

    def _send(self, connection: socket.socket, data: bytes) -> None:
        try:
            connection.sendall(data)
        except OSError as error:
            self.errors.append(repr(error))


@contextmanager
def trickling(base: str) -> Iterator[Trickle]:
    """SLOW_CLIENTS connections trickling headers and as many a body while the block runs, all
    under way when it starts; its connections are left open after it, for the caller to close."""
    trickle = Trickle(address(base))
    thread = threading.Thread(target=trickle.run, name="trickle")
    thread.start()
    try:
        assert trickle.started.wait(10)
        time.sleep(2 * TRICKLE_SECONDS)  # every slow request under way in a serving process
        yield trickle
    finally:
        trickle.stop.set()
        thread.join()
    # the slow clients were neither answered nor cut off meanwhile: only kept waiting
    assert trickle.errors == []
    assert not [c for c in trickle.connections if heard_from(c)]


@on_postgres
def test_trickling_clients_hold_no_serving_thread(
    clean_database: str, db_engine: Engine, standin: RunningStandIn, tmp_path: Path
) -> None:
    seed(make_sessionmaker(db_engine))
    with serving(serve_env(clean_database, standin), tmp_path, "--no-worker") as served:
        client = SlackRequestClient(served.base, signing_secret=SECRET, timeout=5)
        with trickling(served.base) as trickle:
            took = answer_times(served.base, client, PROBE_SECONDS)
        # SIGTERM while the slow requests are still open: serve stops all the same (`serving`)
    for connection in trickle.connections:
        connection.close()
    assert len(took) >= 8 and max(took) < ANSWER_SECONDS, took


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_trickling_clients_hold_no_thread_in_one_process(world: World) -> None:
    with trickling(world.url) as trickle:  # waitress in one process, as `serve` runs it
        took = answer_times(world.url, world.client, PROBE_SECONDS)
    for connection in trickle.connections:
        connection.close()
    assert len(took) >= 8 and max(took) < ANSWER_SECONDS, took


def closed_after(connections: list[socket.socket], opened: list[float]) -> list[float]:
    """How long after it opened the server closed each connection (inf: not within
    CLOSE_WITHIN of the last one opening)."""
    closed = [float("inf")] * len(connections)
    with selectors.DefaultSelector() as waiting:
        for index, connection in enumerate(connections):
            waiting.register(connection, selectors.EVENT_READ, index)
        deadline = opened[-1] + CLOSE_WITHIN
        while waiting.get_map() and time.monotonic() < deadline:
            for key, _ in waiting.select(timeout=max(0.0, deadline - time.monotonic())):
                index = key.data
                try:
                    ended = connections[index].recv(4096) == b""
                except ConnectionError:
                    ended = True
                if ended:
                    closed[index] = time.monotonic() - opened[index]
                    waiting.unregister(connections[index])
    return closed


@on_postgres
def test_idle_connections_hold_no_serving_thread_and_close_after_15_s(
    clean_database: str,
    db_engine: Engine,
    standin: RunningStandIn,
    tmp_path: Path,
    open_files: None,
) -> None:
    seed(make_sessionmaker(db_engine))
    env = serve_env(clean_database, standin)
    with serving(env, tmp_path, "--no-worker", preexec=usual_open_files) as served:
        assert soft_open_files(served.process.pid) >= OPEN_FILES  # raised by serve itself
        assert all(soft_open_files(pid) >= OPEN_FILES for pid in served.children())
        client = SlackRequestClient(served.base, signing_secret=SECRET, timeout=5)
        idle: list[socket.socket] = []
        opened: list[float] = []
        try:
            for _ in range(IDLE_CLIENTS):  # more than one process may hold (1,000)
                idle.append(socket.create_connection(address(served.base), timeout=5))
                opened.append(time.monotonic())
            took = answer_times(served.base, client, PROBE_SECONDS)
            closed = closed_after(idle, opened)
            took_after = answer_times(served.base, client, 1.0)
        finally:
            for connection in idle:
                connection.close()
    assert len(took) >= 8 and max(took) < ANSWER_SECONDS, took
    assert max(took_after) < ANSWER_SECONDS, took_after
    never = sum(1 for after in closed if after == float("inf"))
    assert never == 0, f"{never} of {IDLE_CLIENTS} idle connections still open"
    assert min(closed) >= IDLE_SECONDS - 0.5, min(closed)  # not before their time


def test_serve_raises_its_open_files_limit_as_far_as_the_hard_limit_allows() -> None:
    hard = 2048  # below OPEN_FILES
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] < hard:
        pytest.skip(f"the hard limit on open files here is below {hard}")

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (DEFAULT_OPEN_FILES, hard))

    script = (
        "import logging, resource\n"
        "from bot.server import raise_open_files_limit\n"
        "logging.basicConfig()\n"
        "raise_open_files_limit()\n"
        "print(*resource.getrlimit(resource.RLIMIT_NOFILE))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        preexec_fn=limited,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.split() == [str(hard), str(hard)]
    assert (
        f"open files limited to {hard} by the hard limit (ulimit -Hn), not {OPEN_FILES}"
        in result.stderr
    )
