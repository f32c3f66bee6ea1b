"""Kept-alive connections to Slack's Web API: one per thread and host, used call after call.

slack_sdk's client opens a connection for every call (urllib), so each `views.update` after an
ack paid for a TCP connect, and against slack.com for a TLS handshake, before it sent a byte.
Here each thread keeps the connection of its last call to a host and sends the next call on it,
unless it sat unused for longer than IDLE_SECONDS (servers close idle connections; one closed
as a call is sent would fail that call) or the server has already closed it, or said it would.
A call that fails closes its connection; the next opens a new one. A forked process starts
with none of its parent's.
"""

from __future__ import annotations

import os
import select
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import Message
from http.client import HTTPConnection, HTTPSConnection
from urllib.parse import urlsplit
from urllib.request import Request

IDLE_SECONDS = 20.0  # well under the idle timeouts of HTTP servers and load balancers (60 s+)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    reason: str
    headers: Message
    body: bytes


@dataclass(slots=True)
class _Kept:
    connection: HTTPConnection
    idle_since: float

    def reusable(self) -> bool:
        """Neither idle too long nor closed (or written to) by the server since its answer."""
        sock = self.connection.sock
        if sock is None or time.monotonic() - self.idle_since > IDLE_SECONDS:
            return False
        closed = select.poll()  # not select(): a serving process has descriptors past 1023
        closed.register(sock, select.POLLIN)  # data or EOF; errors and hang-ups come anyway
        return not closed.poll(0)


_threads = threading.local()


def _forget() -> None:
    """In a forked child: the parent's kept connections are the parent's (a serving process
    forked by gunicorn's arbiter must not share the arbiter's socket to Slack)."""
    global _threads
    _threads = threading.local()


os.register_at_fork(after_in_child=_forget)


def _kept() -> dict[tuple[str, str, int, int], _Kept]:
    try:
        found: dict[tuple[str, str, int, int], _Kept] = _threads.kept
    except AttributeError:
        found = _threads.kept = {}
    return found


def send(request: Request, *, timeout: float, context: ssl.SSLContext | None) -> Answer:
    """Send `request` (http or https) on this thread's connection to its host, and read the
    whole answer, whatever its status."""
    url = urlsplit(request.full_url)
    https = url.scheme == "https"
    host = url.hostname or ""
    port = url.port or (443 if https else 80)
    key = (url.scheme, host, port, id(context))
    kept = _kept().pop(key, None)
    if kept is not None and not kept.reusable():
        kept.connection.close()
        kept = None
    if kept is not None:
        connection = kept.connection
        connection.timeout = timeout
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
    elif https:
        connection = HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        connection = HTTPConnection(host, port, timeout=timeout)
    target = (url.path or "/") + (f"?{url.query}" if url.query else "")
    try:
        connection.request(
            request.get_method(), target, body=request.data, headers=dict(request.header_items())
        )
        response = connection.getresponse()
        body = response.read()
    except BaseException:
        connection.close()
        raise
    if response.will_close:
        connection.close()
    else:
        _kept()[key] = _Kept(connection, time.monotonic())
    return Answer(response.status, response.reason, response.msg, body)
