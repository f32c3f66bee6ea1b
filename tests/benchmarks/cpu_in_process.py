"""CPU per request of each kind inside one interpreter: the bot's code alone, ack and after-ack.

`python -m tests.benchmarks.cpu_in_process [--requests N] [--rounds R] [--backend sqlite|postgres]
[--mix] [KIND…]`

`cpu_per_kind` reads a serving process's CPU clock, which ticks every 10 ms, over HTTP, so a
kind's figure moves by a tenth of a millisecond per 100 requests and carries waitress's share.
This one assembles the bot in its own process (`bot.server.assemble`, on a scratch database and
the Slack stand-in seeded as the ack-latency benchmark's), pins it to one core as `serve` does,
and calls its WSGI app directly with each kind's signed request, one at a time: the process's
CPU time (microseconds) per request, the work after the ack included (each request's after-ack
half has finished before the next is sent), and the share of it spent in the request's own
thread before the answer (the ack). Slack calls still go to the stand-in over HTTP. The least of
R rounds of N requests a kind. KIND filters by substring.

With `--mix`, the kinds are sent as the ack benchmark sends them, every kind once a round in
shuffled rounds (`_load.plan_order`), N requests a round: each kind's CPU within that mix and
the mean of a request. A kind sent over and over measures less than it costs in the mix: the
Home tab's page is the same each time (nothing to publish) where in the mix new endpoints
change it, and the same code and rows stay warm in the processor's caches.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot import cores
from bot.config import Settings
from bot.server import Bot, assemble
from bot.web import SLACK_PATH
from sandbox.slack_api import DEFAULT_TOKEN
from sandbox.slack_client import new_trigger_id, signed_headers
from tests.benchmarks._load import (
    EVENT_ID,
    SECRET,
    TRIGGER,
    VIEW_ID,
    Template,
    Workload,
    plan_order,
)
from tests.benchmarks._report import table
from tests.benchmarks.cpu_per_kind import backdate, seeded

WARMUP_EACH = 20
AFTER_ACK_TIMEOUT = 10.0


class Counted:
    """An executor's submissions, counted until each has run: when none is left, every
    after-ack half sent so far has finished."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor
        self.pending = 0
        self.changed = threading.Condition()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self.changed:
            self.pending += 1
        future = self.executor.submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _: Future[Any]) -> None:
        with self.changed:
            self.pending -= 1
            self.changed.notify_all()

    def wait_idle(self) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: self.pending == 0, AFTER_ACK_TIMEOUT):
                raise RuntimeError("work after the ack did not finish")


class Caller:
    """Sends a template's request into the WSGI app, signed and filled in as Slack would."""

    def __init__(self, bot: Bot) -> None:
        self.app = bot.web
        self.after_ack = Counted(bot.web.slack.app.listener_runner.lazy_listener_runner.executor)
        bot.web.slack.app.listener_runner.lazy_listener_runner.executor = self.after_ack  # type: ignore[attr-defined]
        self.count = 0

    def call(self, template: Template) -> float:
        """Send one request; the CPU seconds its own thread took until the answer."""
        self.count += 1
        body = template.body.replace(TRIGGER, new_trigger_id())
        body = body.replace(VIEW_ID, f"VINPROC{self.count}").replace(EVENT_ID, f"EvIN{self.count}")
        raw = body.encode()
        signed = signed_headers(SECRET, raw, timestamp=int(time.time()))
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": SLACK_PATH,
            "QUERY_STRING": "",
            "CONTENT_TYPE": template.content_type,
            "CONTENT_LENGTH": str(len(raw)),
            "wsgi.input": io.BytesIO(raw),
            "wsgi.url_scheme": "http",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "80",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_X_SLACK_REQUEST_TIMESTAMP": signed["X-Slack-Request-Timestamp"],
            "HTTP_X_SLACK_SIGNATURE": signed["X-Slack-Signature"],
        }
        status: list[str] = []
        started = time.thread_time()
        answer = b"".join(self.app(environ, lambda s, h, e=None: status.append(s)))  # type: ignore[arg-type]
        spent = time.thread_time() - started
        if not status[0].startswith("200") or template.expect not in answer.decode():
            raise RuntimeError(f"{template.kind}: {status[0]} {answer[:300]!r}")
        return spent


def measure(caller: Caller, template: Template, requests: int, rounds: int) -> tuple[float, float]:
    """CPU ms per request (process, after-ack work included) and of it in the ack, least of
    `rounds`."""
    for _ in range(WARMUP_EACH):
        caller.call(template)
        caller.after_ack.wait_idle()
    best: tuple[float, float] | None = None
    for _ in range(rounds):
        acks = 0.0
        started = time.process_time()
        for _ in range(requests):
            acks += caller.call(template)
            caller.after_ack.wait_idle()
        total = (time.process_time() - started) * 1000 / requests
        if best is None or total < best[0]:
            best = (total, acks * 1000 / requests)
    assert best is not None
    return best


def measure_mix(
    caller: Caller, templates: list[Template], requests: int, rounds: int
) -> tuple[float, dict[str, float]]:
    """CPU ms per request of the benchmark's mix (least of `rounds` rounds of `requests`), and
    each kind's mean within the mix over all rounds (after-ack work included)."""
    for index in plan_order(WARMUP_EACH * len(templates), len(templates), seed=0):
        caller.call(templates[index])
        caller.after_ack.wait_idle()
    spent: dict[str, list[float]] = defaultdict(list)
    best = float("inf")
    for round_ in range(rounds):
        started = time.process_time()
        for index in plan_order(requests, len(templates), seed=round_ + 1):
            before = time.process_time()
            caller.call(templates[index])
            caller.after_ack.wait_idle()
            spent[templates[index].kind].append(time.process_time() - before)
        best = min(best, (time.process_time() - started) * 1000 / requests)
    return best, {kind: statistics.mean(values) * 1000 for kind, values in spent.items()}


@contextmanager
def bot_in_process(backend: str, folder: Path) -> Iterator[tuple[Bot, Workload]]:
    """The stand-in (a process) and the bot assembled here, on a seeded scratch database."""
    with seeded(backend, folder) as (root, database_url, workload):
        backdate(database_url)
        settings = Settings(
            SLACK_BOT_TOKEN=SecretStr(DEFAULT_TOKEN),
            SLACK_SIGNING_SECRET=SecretStr(SECRET),
            SLACK_API_URL=f"{root}api/",
            DATABASE_URL=SecretStr(database_url),
        )
        bot = assemble(settings)
        cores.pin(cores.choose(cores.allowed(), [], salt=cores.host_salt()))
        try:
            yield bot, workload
        finally:
            bot.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.cpu_in_process")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--mix", action="store_true", help="the ack benchmark's mix of kinds")
    parser.add_argument("kinds", nargs="*", help="only kinds containing one of these")
    options = parser.parse_args()
    if options.backend == "postgres" and not os.environ.get("TEST_DATABASE_URL"):
        parser.error("--backend postgres needs TEST_DATABASE_URL")
    if options.mix:
        mix(options)
        return
    rows: list[list[str]] = []
    totals: list[float] = []
    with (
        tempfile.TemporaryDirectory() as folder,
        bot_in_process(options.backend, Path(folder)) as (bot, workload),
    ):
        caller = Caller(bot)
        for template in workload.templates:
            if options.kinds and not any(k in template.kind for k in options.kinds):
                continue
            total, ack = measure(caller, template, options.requests, options.rounds)
            totals.append(total)
            rows.append([template.kind, f"{total:.3f}", f"{ack:.3f}", f"{total - ack:.3f}"])
    rows.append(["mean of the kinds", f"{statistics.mean(totals):.3f}", "", ""])
    print(
        f"\nCPU ms per request in one process ({options.backend}, WSGI app called directly, "
        f"{options.requests} each, the least of {options.rounds} rounds):"
    )
    print(table(["kind", "total", "ack", "after the ack"], rows))


def mix(options: argparse.Namespace) -> None:
    """`--mix`: the benchmark's kinds in its order, with the kind filter, if any, applied."""
    with (
        tempfile.TemporaryDirectory() as folder,
        bot_in_process(options.backend, Path(folder)) as (bot, workload),
    ):
        templates = [
            t
            for t in workload.templates
            if not options.kinds or any(k in t.kind for k in options.kinds)
        ]
        mean, kinds = measure_mix(Caller(bot), templates, options.requests, options.rounds)
    print(
        f"\nCPU ms per request of the benchmark's mix in one process ({options.backend}, "
        f"{options.requests} a round, the least of {options.rounds} rounds; each kind: its mean "
        "in the mix, after-ack work included):"
    )
    rows = [[t.kind, f"{kinds[t.kind]:.3f}"] for t in templates if t.kind in kinds]
    print(table(["kind", "in the mix"], [*rows, ["a request of the mix", f"{mean:.3f}"]]))


if __name__ == "__main__":
    main()
