"""The serving processes' turn of waitress's loop (bot.serving_loop): answers whole, large or
streamed, and no turns spent waking for connections whose thread is still answering."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from waitress import wasyncore
from waitress.server import create_server

from bot import serving_loop

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

MB = 1024 * 1024


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """`/size/N`: N bytes in one piece; `/stream/N`: N pieces of 1 KB, 10 ms apart."""
    kind, _, count = environ["PATH_INFO"].strip("/").partition("/")
    n = int(count)
    if kind == "size":
        start_response("200 OK", [("Content-Length", str(n))])
        return [b"a" * n]
    start_response("200 OK", [("Content-Length", str(n * 1024))])
    return _pieces(n)


def _pieces(n: int) -> Iterator[bytes]:
    for i in range(n):
        time.sleep(0.01)
        yield bytes([65 + i % 26]) * 1024


@contextmanager
def serving() -> Iterator[int]:
    """The app under waitress with four threads, its loop turned by bot.serving_loop."""
    connections: dict[int, Any] = {}
    server = create_server(app, map=connections, host="127.0.0.1", port=0, threads=4)
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            serving_loop.turn(0.05, connections)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield int(server.socket.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        wasyncore.close_all(connections)
        server.task_dispatcher.shutdown()


def fetch(port: int, path: str, times: int = 1) -> list[bytes]:
    """GET `path` `times` over one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        bodies = []
        for _ in range(times):
            connection.request("GET", path)
            response = connection.getresponse()
            assert response.status == 200
            bodies.append(response.read())
        return bodies
    finally:
        connection.close()


@pytest.mark.parametrize("size", [0, 1, 2000, 300 * 1024, 2 * MB, 20 * MB])
def test_answers_of_every_size_arrive_whole(size: int) -> None:
    # 2 MB: past HELP_AFTER the loop helps send it; 20 MB: past waitress's 16 MB the thread
    # waits for the loop to send, which must not leave it waiting for good
    with serving() as port:
        [body] = fetch(port, f"/size/{size}")
    assert body == b"a" * size


def test_streamed_answers_and_many_clients_at_once() -> None:
    with serving() as port:
        found: list[list[bytes]] = []
        clients = [
            threading.Thread(target=lambda: found.append(fetch(port, "/stream/20", times=3)))
            for _ in range(16)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join(60)
    expected = b"".join(bytes([65 + i % 26]) * 1024 for i in range(20))
    assert len(found) == 16 and all(bodies == [expected] * 3 for bodies in found)


SPIN = textwrap.dedent(
    """
    import http.client, json, logging, sys, threading, time
    from waitress import wasyncore
    from waitress.server import create_server
    from bot import cores, serving_loop

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    cores.pin(cores.allowed()[0])  # one core, as serve runs: where the spinning was worst

    def app(environ, start_response):
        start_response("200 OK", [("Content-Length", "2000")])
        return [b"x" * 2000]

    connections = {}
    server = create_server(app, map=connections, host="127.0.0.1", port=0, threads=4)
    port = server.socket.getsockname()[1]
    turns, answered, stop = 0, 0, threading.Event()

    def loop():
        global turns
        while not stop.is_set():
            turns += 1
            serving_loop.turn(0.1, connections)

    def client():
        global answered
        connection = http.client.HTTPConnection("127.0.0.1", port)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            connection.request("GET", "/")
            assert len(connection.getresponse().read()) == 2000
            answered += 1

    threading.Thread(target=loop, daemon=True).start()
    clients = [threading.Thread(target=client) for _ in range(32)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    stop.set()
    print(json.dumps({"turns": turns, "answered": answered}))
    """
)


def test_the_loop_does_not_turn_for_answers_being_written() -> None:
    """32 clients each with a request in flight: waitress's own turn (wasyncore.poll2) took
    about 3 turns per answer here, waking for connections whose thread held their answer."""
    env = os.environ | {"PYTHONPATH": os.getcwd()}
    found = subprocess.run(
        [sys.executable, "-c", SPIN], env=env, capture_output=True, text=True, timeout=120
    )
    assert found.returncode == 0, found.stderr[-2000:]
    figures = json.loads(found.stdout)
    assert figures["answered"] > 1000
    assert figures["turns"] / figures["answered"] < 0.5, figures
