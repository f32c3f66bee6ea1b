"""A load generator: Slack's signed requests at a fixed concurrency, latencies to a JSON file.

`python -m tests.benchmarks.loadgen --url URL --secret S --plan PLAN.json --concurrency C
--count N [--warmup W] --out OUT.json`

PLAN.json holds request templates (kind, content type, body) and the order to send them in,
cycled. Each request is signed when it is sent (fresh timestamp); `__TRIGGER__` in a body
becomes a fresh trigger id, `__VIEWID__` a view id and `__EVENTID__` an event id never sent
before. One asyncio loop,
`C` keep-alive connections each with one request in flight (a closed loop); a request's
latency runs from its first byte written to its last byte read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sandbox.slack_client import USER_AGENT, sign
from sandbox.slack_client import new_trigger_id as _new_trigger_id

TRIGGER = b"__TRIGGER__"
VIEW_ID = b"__VIEWID__"
EVENT_ID = b"__EVENTID__"
MAX_ERRORS_KEPT = 10


@dataclass(frozen=True)
class Template:
    kind: str
    content_type: str
    body: bytes


@dataclass
class Plan:
    templates: list[Template]
    order: list[int]

    @classmethod
    def load(cls, path: Path) -> Plan:
        """A plan as written by the benchmark (see the module docstring)."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        templates = [
            Template(t["kind"], t["content_type"], t["body"].encode("utf-8"))
            for t in raw["templates"]
        ]
        return cls(templates=templates, order=list(raw["order"]))


@dataclass
class Results:
    rows: list[tuple[int, int, float]] = field(default_factory=list)  # template, status, seconds
    errors: list[str] = field(default_factory=list)
    failures: int = 0

    def error(self, text: str) -> None:
        self.failures += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(text)


class Requests:
    """Hands out the plan's requests in order, each filled in and signed when taken."""

    def __init__(self, plan: Plan, *, host: str, path: str, secret: str) -> None:
        self._plan = plan
        self._next = 0
        self._unique = 0
        self._prefix = f"VB{os.getpid():X}X".encode("ascii")
        self._host = host
        self._path = path
        self._secret = secret

    def kind(self, index: int) -> str:
        """The kind of request template `index`."""
        return self._plan.templates[index].kind

    def take(self) -> tuple[int, bytes]:
        """The next request: its template index and its bytes on the wire."""
        index = self._plan.order[self._next % len(self._plan.order)]
        self._next += 1
        template = self._plan.templates[index]
        body = template.body
        if TRIGGER in body:
            body = body.replace(TRIGGER, _new_trigger_id().encode("ascii"))
        if VIEW_ID in body:
            self._unique += 1
            body = body.replace(VIEW_ID, self._prefix + str(self._unique).encode("ascii"))
        if EVENT_ID in body:
            self._unique += 1
            body = body.replace(EVENT_ID, b"Ev" + self._prefix + str(self._unique).encode("ascii"))
        timestamp = int(time.time())
        signature = sign(self._secret, timestamp, body)
        head = (
            f"POST {self._path} HTTP/1.1\r\n"
            f"Host: {self._host}\r\n"
            f"User-Agent: {USER_AGENT}\r\n"
            f"Content-Type: {template.content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Slack-Request-Timestamp: {timestamp}\r\n"
            f"X-Slack-Signature: {signature}\r\n"
            "\r\n"
        ).encode("ascii")
        return index, head + body


class Connection:
    """One keep-alive HTTP/1.1 connection with at most one request in flight."""

    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(*self._address)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    async def send(self, wire: bytes) -> int:
        """Send one request and read the whole answer; its HTTP status."""
        if self._writer is None:
            await self.open()
        assert self._reader is not None and self._writer is not None
        self._writer.write(wire)
        await self._writer.drain()
        status, keep_alive = await _read_response(self._reader)
        if not keep_alive:
            self.close()
        return status


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; its status and whether the connection stays open."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    version, status = status_line.split(b" ", 2)[:2]
    headers: dict[bytes, bytes] = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        while size := int((await reader.readline()).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readline()
    else:
        await reader.read()
        return int(status), False
    connection = headers.get(b"connection", b"").lower()
    keep_alive = connection != b"close" and (version == b"HTTP/1.1" or connection == b"keep-alive")
    return int(status), keep_alive


async def _worker(
    connection: Connection, requests: Requests, budget: list[int], results: Results | None
) -> None:
    while budget[0] > 0:
        budget[0] -= 1
        index, wire = requests.take()
        started = time.perf_counter()
        try:
            status = await connection.send(wire)
        except (OSError, asyncio.IncompleteReadError, ValueError) as error:
            connection.close()
            status = 0
            if results is not None:
                results.error(f"{requests.kind(index)}: {error!r}")
        elapsed = time.perf_counter() - started
        if results is not None:
            results.rows.append((index, status, elapsed))


async def run(
    *, url: str, secret: str, plan: Plan, concurrency: int, count: int, warmup: int
) -> dict[str, Any]:
    """Warm up, then send `count` requests with `concurrency` in flight; the figures."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = Requests(plan, host=parts.netloc, path=parts.path or "/", secret=secret)
    connections = [Connection(host, port) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in connections))
    try:
        budget = [warmup]
        await asyncio.gather(*(_worker(c, requests, budget, None) for c in connections))
        results = Results()
        budget = [count]
        started = time.perf_counter()
        await asyncio.gather(*(_worker(c, requests, budget, results) for c in connections))
        wall = time.perf_counter() - started
    finally:
        for connection in connections:
            connection.close()
    return {
        "url": url,
        "concurrency": concurrency,
        "count": count,
        "warmup": warmup,
        "wall_seconds": wall,
        "kinds": [t.kind for t in plan.templates],
        "rows": results.rows,
        "failures": results.failures,
        "errors": results.errors,
    }


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, run, and write the figures."""
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.loadgen", description=__doc__)
    parser.add_argument("--url", required=True, help="e.g. http://127.0.0.1:3000/slack/events")
    parser.add_argument("--secret", required=True, help="the signing secret")
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--warmup", type=int, default=0, help="requests sent first, not timed")
    parser.add_argument("--out", type=Path, required=True)
    options = parser.parse_args(argv)
    figures = asyncio.run(
        run(
            url=options.url,
            secret=options.secret,
            plan=Plan.load(options.plan),
            concurrency=options.concurrency,
            count=options.count,
            warmup=options.warmup,
        )
    )
    options.out.write_text(json.dumps(figures), encoding="utf-8")


if __name__ == "__main__":
    main()
