"""waitress's event loop, without spinning while a thread writes a request's answer.

waitress's turn (`wasyncore.poll2`) asks the system to wake it when a connection can be written
to whenever that connection has bytes waiting to be sent. While a thread runs a request, it
sends each piece of the answer itself as it writes it (under the connection's output lock), so
the loop that wakes to help finds the lock taken and nothing to do (`HTTPChannel.handle_write`)
— and a socket can nearly always be written to, so it woke again at once, each time asking all
the connections whether they are readable and writable. With 32 requests in flight that was 26
turns of the loop per request and a quarter of what the process spent, taking turns with the
very threads it waited for (docs/benchmarks.md, "Concurrency"). Here a connection whose request
is running is not watched for writing, unless its answer has piled up (HELP_AFTER: no answer of
the bot's comes near it; far below waitress's 16 MB, past which the thread waits for the loop)
or it is to be closed: the thread wakes the loop when the request is done (`pull_trigger`), and
the loop sends what is left. Everything else is as waitress does it.
"""

from __future__ import annotations

import select
from typing import Any

from waitress import wasyncore
from waitress.channel import HTTPChannel

READ = select.POLLIN | select.POLLPRI
HELP_AFTER = 1024 * 1024  # bytes of an answer buffered before the loop helps send them


def turn(timeout: float, connections: dict[int, Any]) -> None:
    """One turn: wait up to `timeout` seconds for a connection to read or write, then serve
    those that are ready."""
    pollster = select.poll()
    for fd, connection in list(connections.items()):
        flags = READ if connection.readable() else 0
        if connection.writable() and not connection.accepting and not _answer_pending(connection):
            flags |= select.POLLOUT
        if flags:
            pollster.register(fd, flags)
    for fd, flags in pollster.poll(int(timeout * 1000)):
        connection = connections.get(fd)
        if connection is not None:
            wasyncore.readwrite(connection, flags)


def _answer_pending(connection: Any) -> bool:
    """Whether a thread is still running the connection's request and sends its answer itself
    (a small one, on a connection that stays open)."""
    return (
        isinstance(connection, HTTPChannel)
        and bool(connection.requests)
        and not connection.will_close
        and not connection.close_when_flushed
        and connection.total_outbufs_len < HELP_AFTER
    )
