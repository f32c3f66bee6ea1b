"""One serving process of `serve --processes N`: gunicorn's arbiter forks it, and it answers
with waitress, as `serve` does in one process, on the listening socket it inherited.

What it guarantees:

- Slow and idle clients never hold a serving thread. waitress reads each request whole in its
  event loop (`bot.server.LIMITS`: header and body sizes, 1,000 connections a process, a
  connection idle or half-sent for 15 s closed) before one of the process's `threads` runs it.
  A process at its connection limit stops accepting, and the others take the new connections.
- The arbiter hears from the process after every turn of that loop (at most a second apart):
  a process whose loop hangs for gunicorn's `timeout` is killed and replaced.
- SIGTERM (the arbiter stopping, or replacing it): no new connection is accepted, requests in
  flight get gunicorn's `graceful_timeout` to finish and send their answers, and every other
  connection (idle, or with a request only half-sent) is closed at once. SIGINT and SIGQUIT
  end the process at once. The process also ends if its arbiter is gone.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from gunicorn.workers.base import Worker  # type: ignore[import-untyped]
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from bot import serving_loop
from bot.server import IDENT, LIMITS, LOOP_SECONDS


class WaitressProcess(Worker):  # type: ignore[misc]
    """gunicorn's worker class for the bot: waitress on the arbiter's listening sockets."""

    def run(self) -> None:
        """Serve until SIGTERM or the arbiter is gone, then stop gracefully."""
        # Requests queue for the few threads by design; waitress would warn once per request.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        connections: dict[int, Any] = {}
        server = create_server(
            self.wsgi,
            map=connections,
            sockets=[listener.sock for listener in self.sockets],
            threads=self.cfg.threads,
            ident=IDENT,
            **LIMITS,
        )
        try:
            while self.alive and self.ppid == os.getppid():
                self.notify()
                serving_loop.turn(LOOP_SECONDS, connections)
            self._drain(connections)
        finally:
            wasyncore.close_all(connections)
            server.task_dispatcher.shutdown(timeout=1)

    def _drain(self, connections: dict[int, Any]) -> None:
        """Accept nothing more, close every connection without a request in flight, and give
        those with one until `graceful_timeout` to answer."""
        for listener in connections.values():
            if isinstance(listener, BaseWSGIServer):
                listener.accepting = False
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while time.monotonic() < deadline:
            channels = [c for c in connections.values() if isinstance(c, HTTPChannel)]
            if not channels:
                return
            for channel in channels:
                if not (channel.requests or channel.total_outbufs_len):
                    channel.will_close = True  # closed by the loop's next turn
            self.notify()
            serving_loop.turn(LOOP_SECONDS / 10, connections)
