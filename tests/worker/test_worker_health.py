"""Every process visible: the worker's heartbeat, and `/healthz` and `/metrics` of `worker` and
of `serve` in Socket Mode, as processes and in-process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot.config import Settings
from bot.observability import REGISTRY
from bot.storage.db import make_sessionmaker
from bot.web import StatusApp
from bot.worker.health import Heartbeat
from bot.worker.runner import start_worker
from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn, SlackStandIn, start
from tests.slack.conftest import SECRET, seed
from tests.slack.test_serve import free_port


@pytest.fixture
def slack() -> Iterator[RunningStandIn]:
    """The Slack stand-in on a free port."""
    _, running = start(SlackStandIn(trigger_ttl=None))
    yield running
    running.stop()


APP_TOKEN = "xapp-1-A0SOCKET01-1-0123456789abcdef"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_loop_is_healthy_while_its_passes_end_in_time() -> None:
    clock = FakeClock()
    beat = Heartbeat(clock)
    beat.watch("reconcile", stale_after=60)
    assert beat.problem() is None  # just started: it has a pass's time
    clock.now += 61
    problem = json.loads(beat.problem() or "{}")
    assert problem["loop"] == "reconcile" and "no pass has ended" in problem["reason"]
    beat.ok("reconcile")
    assert beat.problem() is None
    beat.failed("reconcile", "AWS could not be reached in 2 region(s)")
    clock.now += 61
    problem = json.loads(beat.problem() or "{}")
    assert problem["last_error"] == "AWS could not be reached in 2 region(s)"


def test_a_dead_loop_is_unhealthy_at_once() -> None:
    beat = Heartbeat(FakeClock())
    beat.watch("outbox", stale_after=60)
    beat.ok("outbox")
    beat.alive_while("outbox", lambda: False)
    assert json.loads(beat.problem() or "{}")["reason"] == "the loop has stopped"


def passes(loop: str) -> float:
    """This process's count of the loop's good passes."""
    labels = {"loop": loop, "outcome": "ok"}
    return REGISTRY.get_sample_value("privatelink_worker_passes_total", labels) or 0.0


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for(url: str, status: int, *, seconds: float = 30) -> str:
    """The body once `url` answers `status`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            got, body = get(url)
            if got == status:
                return body
        except (urllib.error.URLError, ConnectionError):
            pass
        assert time.monotonic() < deadline, f"{url} did not answer {status}"
        time.sleep(0.2)


def test_healthz_answers_503_once_the_worker_loops_stop(
    clean_database: str, db_engine: Engine, slack: RunningStandIn
) -> None:
    from bot import metrics
    from bot.server import wsgi_in_background

    settings = Settings(
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=clean_database,  # type: ignore[arg-type]
        BOT_RECONCILE_INTERVAL=0.2,
    )
    sessions = make_sessionmaker(db_engine)
    before = {loop: passes(loop) for loop in ("reconcile", "outbox")}
    worker = start_worker(settings=settings, sessions=sessions)
    status = StatusApp(engine=db_engine, metrics=lambda: metrics.render(sessions))
    status.worker = worker.heartbeat
    with wsgi_in_background(status) as url:
        assert wait_for(f"{url}/healthz", 200) == "ok\n"
        deadline = time.monotonic() + 20  # each loop's passes are counted on /metrics
        while any(passes(loop) <= count for loop, count in before.items()):
            assert time.monotonic() < deadline, "the loops' passes were not counted"
            time.sleep(0.1)
        _, text = get(f"{url}/metrics")
        assert 'privatelink_worker_passes_total{loop="reconcile",outcome="ok"}' in text
        worker.stop()
        problem = json.loads(wait_for(f"{url}/healthz", 503))
        assert problem["status"] == "unhealthy" and problem["reason"] == "the loop has stopped"


def environment(slack: RunningStandIn, database: str, **more: str) -> dict[str, str]:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database,
        "BOT_RECONCILE_INTERVAL": "0.5",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **more,
    }
    env.pop("SLACK_APP_TOKEN", None) if "SLACK_APP_TOKEN" not in more else None
    return env


@pytest.fixture
def process_on_port(
    request: pytest.FixtureRequest,
    clean_database: str,
    db_engine: Engine,
    slack: RunningStandIn,
) -> Iterator[str]:
    """A `python -m bot …` process (the test's parameter) with its status port; its base URL."""
    seed(make_sessionmaker(db_engine))
    port = free_port()
    command, more = request.param
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *command, "--host", "127.0.0.1", "--port", str(port)],
        env=environment(slack, clean_database, **more),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.parametrize(
    ("process_on_port", "worker"),
    [
        ((["worker"], {}), True),
        ((["serve", "--no-worker"], {"SLACK_APP_TOKEN": APP_TOKEN}), False),
        ((["serve"], {"SLACK_APP_TOKEN": APP_TOKEN}), True),
    ],
    indirect=["process_on_port"],
    ids=["worker", "socket-mode-serve", "socket-mode-serve-with-worker"],
)
def test_every_process_answers_healthz_and_metrics(process_on_port: str, worker: bool) -> None:
    assert wait_for(f"{process_on_port}/healthz", 200) == "ok\n"
    sample = 'privatelink_worker_passes_total{loop="outbox",outcome="ok"}'
    deadline = time.monotonic() + 20
    while True:  # a process running the worker counts its passes on its own /metrics
        status, text = get(f"{process_on_port}/metrics")
        assert status == 200 and "privatelink_database_up 1" in text
        if not worker or sample in text or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (sample in text) == worker
