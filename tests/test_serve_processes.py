"""`python -m bot serve --processes 2` as a process, on Postgres: Slack's requests answered by
both serving processes, `/metrics` summed over them, a SIGKILLed one replaced under load, and
the worker in exactly one of them, failing over when it dies. On SQLite and in Socket Mode,
more than one process is refused."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from bot.config import ConfigError, Settings
from bot.prefork import RUNTIME_ENV
from bot.server import serving_processes, usable_cores
from bot.storage.db import make_sessionmaker
from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn
from sandbox.slack_client import SlackRequestClient, app_home_opened_payload
from tests.conftest import POSTGRES_URL
from tests.slack import conftest as slack_fixtures
from tests.slack.conftest import CHANNEL, OWNER, SECRET, World, seed
from tests.slack.test_serve import free_port, get
from tests.slack.test_wizard import SERVICE_NAME, endpoint_rows, inputs, texts
from tests.slack.test_wizard import service_becomes_active as service_active
from tests.test_cores import CORES, thread_cores

PROCESSES = 2
WAIT_SECONDS = 60.0
WORKER_HERE = "privatelink_serve_worker_running"
ANSWERS = "privatelink_serve_slack_answers"
ANSWER_COUNT = "privatelink_slack_answer_seconds_count"
RECONCILE_PASSES = ("privatelink_worker_passes_total", {"loop": "reconcile", "outcome": "ok"})
LOAD_THREADS = 8
T = TypeVar("T")

standin = slack_fixtures.standin  # the Slack stand-in on a free port, shared with tests/slack


def on_postgres(test: Callable[..., None]) -> Callable[..., None]:
    """Run `test` on TEST_DATABASE_URL's Postgres only (CI fails without it: tests/conftest)."""
    test = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)(test)
    return pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL")(test)


Samples = dict[str, list[tuple[dict[str, str], float]]]


@dataclass
class Serve:
    """The `serve` process (gunicorn's arbiter) and its address."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def children(self) -> set[int]:
        """The serving processes now: the arbiter's children, from /proc."""
        found: set[int] = set()
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            found |= {int(pid) for pid in (task / "children").read_text().split()}
        return found

    def scrape(self) -> Samples:
        """Every sample of `GET /metrics`, by name."""
        status, text = get(f"{self.base}/metrics")
        assert status == 200, text
        samples: Samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append((sample.labels, sample.value))
        return samples

    def wait(self, what: str, found: Callable[[], T | None], timeout: float = WAIT_SECONDS) -> T:
        """Poll `found` until it gives something (not None); fail with the log after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"serve exited:\n{self.tail()}"
            try:
                result = found()
            except OSError:  # not listening yet
                result = None
            if result is not None:
                return result
            assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s\n{self.tail()}"
            time.sleep(0.2)

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


def by_pid(samples: Samples, name: str) -> dict[int, float]:
    """A per-process gauge: its value in each live serving process."""
    return {int(labels["pid"]): value for labels, value in samples.get(name, [])}


def value(samples: Samples, name: str, labels: dict[str, str] | None = None) -> float:
    """The sample of `name` with exactly `labels` (0 when absent)."""
    found = [v for got, v in samples.get(name, []) if got == (labels or {})]
    return found[0] if found else 0.0


def serve_env(database_url: str, standin: RunningStandIn) -> dict[str, str]:
    dropped = (
        "SLACK_APP_TOKEN",
        "SLACK_CLIENT_ID",
        "SLACK_CLIENT_SECRET",
        "PROMETHEUS_MULTIPROC_DIR",
    )
    return {k: v for k, v in os.environ.items() if k not in dropped} | {
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": standin.api_url,
        "DATABASE_URL": database_url,
        "BOT_RECONCILE_INTERVAL": "1",
    }


@contextmanager
def serving(
    env: dict[str, str],
    folder: Path,
    *options: str,
    preexec: Callable[[], None] | None = None,
) -> Iterator[Serve]:
    """`serve --processes 2` until both serving processes are up (`preexec` runs in the new
    process before `python` does); stopped with SIGTERM after, which must leave no process and
    no runtime folder behind."""
    port = free_port()
    log = folder / "serve.log"
    argv = ["serve", "--host", "127.0.0.1", "--port", str(port), "--processes", str(PROCESSES)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", *argv, *options],
            env=env,
            stdout=out,
            stderr=out,
            preexec_fn=preexec,
        )
    served = Serve(process=process, base=f"http://127.0.0.1:{port}", log=log)
    try:

        def all_up() -> set[int] | None:
            pids = set(by_pid(served.scrape(), WORKER_HERE))
            return pids if len(pids) == PROCESSES else None  # the first may answer alone

        assert served.wait("both serving processes up", all_up) == served.children()
        environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
        [runtime] = [
            e.split(b":", 1)[1] for e in environ if e.startswith(f"{RUNTIME_ENV}=".encode())
        ]
        yield served
    finally:
        last = served.children() if process.poll() is None else set()
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0, served.tail()
    assert not Path(os.fsdecode(runtime)).exists()
    assert not [pid for pid in last if Path(f"/proc/{pid}").exists()]


def help_command(client: SlackRequestClient) -> int:
    """`/private-endpoint help`, answered in the ack; the HTTP status."""
    return client.slash_command(
        "/private-endpoint", "help", user_id=OWNER, channel_id=CHANNEL
    ).status


def answer_on_every_process(
    served: Serve, client: SlackRequestClient
) -> tuple[int, dict[int, float]]:
    """Send `help` 40 at a time, 8 in flight, until every serving process has answered some of
    them: how many were sent, and how many each process answered."""
    before = by_pid(served.scrape(), ANSWERS)
    sent = 0

    def spread() -> dict[int, float] | None:
        nonlocal sent
        with ThreadPoolExecutor(LOAD_THREADS) as pool:
            statuses = list(pool.map(lambda _: help_command(client), range(40)))
        assert statuses == [200] * 40
        sent += 40
        answered = {
            pid: n - before.get(pid, 0) for pid, n in by_pid(served.scrape(), ANSWERS).items()
        }
        return answered if all(n > 0 for n in answered.values()) else None

    answered = served.wait("every serving process answering", spread)
    return sent, answered


@on_postgres
def test_both_processes_answer_slack(
    clean_database: str,
    db_engine: Engine,
    standin: RunningStandIn,
    tmp_path: Path,
) -> None:
    sessions = make_sessionmaker(db_engine)
    seed(sessions)
    with serving(serve_env(clean_database, standin), tmp_path, "--no-worker") as served:
        client = SlackRequestClient(served.base, signing_secret=SECRET)
        world = World(url=served.base, slack=standin, sessions=sessions, client=client)
        owner = world.person()
        assert inputs(owner.open_wizard("create orders")) == ["Cluster"]  # views.open after ack
        assert owner.submit().json()["response_action"] == "update"  # a view submission
        assert inputs(owner.view()) == ["Region"]
        owner.submit()
        assert "Creating the endpoint service for *orders*" in texts(owner.view())
        service_active(world)
        [endpoint] = endpoint_rows(world)
        owner.open_wizard(f"edit {endpoint.id}")
        assert owner.click_in_view("toggle_instructions").status == 200  # a block action
        standin.standin.wait_for("views.update")
        assert SERVICE_NAME in texts(owner.view())
        assert client.send_event(app_home_opened_payload(user_id=OWNER)).status == 200
        [publish] = standin.standin.wait_for("views.publish")
        assert "payments" in str(publish.args["view"])

        _, answered = answer_on_every_process(served, client)
        assert set(answered) == served.children() and len(answered) == PROCESSES
        on = [process_core(pid) for pid in answered]
        assert len(set(on)) == min(PROCESSES, len(CORES))  # each on a core of its own


@on_postgres
def test_metrics_sum_over_the_processes(
    clean_database: str,
    db_engine: Engine,
    standin: RunningStandIn,
    tmp_path: Path,
) -> None:
    seed(make_sessionmaker(db_engine))
    with serving(serve_env(clean_database, standin), tmp_path, "--no-worker") as served:
        client = SlackRequestClient(served.base, signing_secret=SECRET)
        before = value(served.scrape(), ANSWER_COUNT)
        sent, answered = answer_on_every_process(served, client)
        assert all(n > 0 for n in answered.values()) and sum(answered.values()) == sent
        assert value(served.scrape(), ANSWER_COUNT) - before == sent  # whichever process scraped


@dataclass
class Load:
    """`help` commands from LOAD_THREADS threads, one in flight each, until stopped."""

    client: SlackRequestClient
    stop: threading.Event = field(default_factory=threading.Event)
    statuses: list[int] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)  # when sent, what happened

    def run(self) -> None:
        while not self.stop.is_set():
            sent = time.monotonic()
            try:
                self.statuses.append(help_command(self.client))
            except (OSError, http.client.HTTPException) as error:
                self.failures.append((sent, repr(error)))


def process_core(pid: int) -> frozenset[int]:
    """The cores every thread of serving process `pid` may run on: one of its own, when the
    machine has two or more (bot.cores)."""
    [cores] = set(thread_cores(pid).values())
    assert len(cores) == (1 if len(CORES) > 1 else len(CORES))
    return cores


@on_postgres
def test_a_killed_process_is_replaced_and_the_rest_keep_answering(
    clean_database: str,
    db_engine: Engine,
    standin: RunningStandIn,
    tmp_path: Path,
) -> None:
    seed(make_sessionmaker(db_engine))
    with serving(serve_env(clean_database, standin), tmp_path, "--no-worker") as served:
        client = SlackRequestClient(served.base, signing_secret=SECRET)
        first = served.children()
        load = Load(client)
        threads = [threading.Thread(target=load.run) for _ in range(LOAD_THREADS)]
        for thread in threads:
            thread.start()
        try:
            served.wait("load running", lambda: len(load.statuses) >= 50 or None)
            placed = {pid: process_core(pid) for pid in first}
            victim = min(first)
            os.kill(victim, signal.SIGKILL)
            [new] = served.wait(
                "a replacement serving",
                lambda: (set(by_pid(served.scrape(), WORKER_HERE)) - first) or None,
            )
            up_at = time.monotonic()
            assert served.children() == first - {victim} | {new}
            assert process_core(new) == placed[victim]  # the core its predecessor left
            served.wait(
                "the replacement answering", lambda: by_pid(served.scrape(), ANSWERS)[new] or None
            )
            after = len(load.statuses)
            served.wait("more answers after it", lambda: len(load.statuses) >= after + 50 or None)
        finally:
            load.stop.set()
            for thread in threads:
                thread.join()
    assert set(load.statuses) == {200}
    # only requests in flight on the killed process may fail: at most one per client thread
    assert len(load.failures) <= LOAD_THREADS, load.failures
    assert all(sent < up_at for sent, _ in load.failures), load.failures


@on_postgres
def test_the_worker_runs_in_one_process_and_fails_over(
    clean_database: str,
    db_engine: Engine,
    standin: RunningStandIn,
    tmp_path: Path,
) -> None:
    seed(make_sessionmaker(db_engine))
    with serving(serve_env(clean_database, standin), tmp_path) as served:

        def holder(passes_over: float) -> int | None:
            """The one process running the worker, once reconcile passes exceed `passes_over`."""
            samples = served.scrape()
            running = by_pid(samples, WORKER_HERE)
            assert sum(running.values()) <= 1, running  # never two at once
            holders = [pid for pid, here in running.items() if here == 1]
            if value(samples, *RECONCILE_PASSES) <= passes_over or not holders:
                return None
            assert set(running) == served.children(), running
            return holders[0]

        first = served.wait("the worker passing", lambda: holder(1))
        passes = value(served.scrape(), *RECONCILE_PASSES)
        os.kill(first, signal.SIGKILL)

        def another() -> int | None:
            found = holder(passes)
            return None if found == first else found

        second = served.wait("the worker in another process", another)
        assert second in served.children() and first not in served.children()


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ({}, "SQLite takes one serving process; use Postgres for more"),
        ({"SLACK_APP_TOKEN": "xapp-1-A0-1-abc"}, "Socket Mode takes one process"),
    ],
)
def test_more_processes_are_refused_on_sqlite_and_in_socket_mode(
    tmp_path: Path, extra: dict[str, str], reason: str
) -> None:
    env = os.environ | {
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        **extra,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--processes", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: --processes: {reason}")
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_one_process_per_core_on_postgres_by_default() -> None:
    def settings(url: str, **more: str) -> Settings:
        return Settings(DATABASE_URL=url, **more)  # type: ignore[arg-type]

    postgres = settings("postgresql://bot@db/bot")
    assert serving_processes(None, postgres) == usable_cores()
    assert serving_processes(3, postgres) == 3
    assert serving_processes(None, settings("sqlite:///bot.db")) == 1
    assert serving_processes(1, settings("sqlite:///bot.db")) == 1
    assert (
        serving_processes(None, settings("postgresql://bot@db/bot", SLACK_APP_TOKEN="xapp-1")) == 1
    )
    with pytest.raises(ConfigError, match="--processes: must be 1 or more"):
        serving_processes(0, postgres)
