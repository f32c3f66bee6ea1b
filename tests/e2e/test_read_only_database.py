"""A Postgres that refuses writes (`default_transaction_read_only = on`, as a replica after a
failover or a full disk leaves it): users are told the bot cannot reach its database, never a
5xx; the worker backs off and says why on `/healthz` and `/metrics` without ending its process
(nor `serve`'s serving processes); once writes are taken again, everything carries on.

On a scratch database made for these tests beside TEST_DATABASE_URL's (never that one, which
other tests use), dropped after them."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.server import assemble, http_in_background
from bot.storage import migrate
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.orm import Base
from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn, SlackStandIn, start
from sandbox.slack_client import (
    FORM,
    SlackRequestClient,
    app_home_opened_payload,
    slash_command_body,
)
from tests.conftest import POSTGRES_URL
from tests.slack.conftest import CHANNEL, MEMBER, OWNER, SECRET, seed
from tests.slack.test_hostile import META, submission
from tests.slack.test_serve import free_port
from tests.worker.test_worker_health import environment

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs TEST_DATABASE_URL (Postgres)")

DATABASE_DOWN = "cannot reach its database"


def admin(url: str) -> Engine:
    """The server's `postgres` database, for CREATE / ALTER / DROP DATABASE."""
    return make_engine(
        make_url(url).set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )


def set_read_only(server: Engine, name: str, on: bool) -> None:
    """Writes refused (or taken again) by every session started from now on."""
    value = "on" if on else "off"
    with server.connect() as connection:
        connection.execute(
            text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {value}')
        )


@pytest.fixture(scope="module")
def scratch() -> Iterator[tuple[str, Engine, str]]:
    """A migrated scratch database: its URL, the server's admin engine, its name."""
    base = make_url(POSTGRES_URL)
    name = f"{base.database}_read_only"
    server = admin(POSTGRES_URL)
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    seed(make_sessionmaker(engine))
    engine.dispose()
    try:
        yield url, server, name
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture
def read_only(scratch: tuple[str, Engine, str]) -> Iterator[str]:
    """The scratch database's URL, refusing writes for the test; taken back after it."""
    url, server, name = scratch
    set_read_only(server, name, True)
    try:
        yield url
    finally:
        set_read_only(server, name, False)


@pytest.fixture
def slack() -> Iterator[RunningStandIn]:
    _, running = start(SlackStandIn(trigger_ttl=None))
    yield running
    running.stop()


def rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted(map(tuple, connection.execute(select(table))), key=repr)
                for table in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def test_users_are_told_the_database_cannot_be_reached_never_a_5xx(
    read_only: str, slack: RunningStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    before = rows(read_only)
    settings = Settings(
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,  # type: ignore[arg-type]
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=read_only,  # type: ignore[arg-type]
    )
    bot = assemble(settings)
    try:
        with http_in_background(bot) as url:
            client = SlackRequestClient(url, signing_secret=SECRET)
            for user in (MEMBER, OWNER):  # new to the project (a write), and known
                for verb in ("list", "create", "billing"):
                    body = slash_command_body(
                        "/private-endpoint", verb, user_id=user, channel_id=CHANNEL
                    )
                    answer = client.post(body, content_type=FORM)
                    assert answer.status == 200, (user, verb, answer.text)
            answer = client.post(
                slash_command_body("/private-endpoint", "list", user_id=MEMBER, channel_id=CHANNEL),
                content_type=FORM,
            )
            assert DATABASE_DOWN in answer.text
            submitted = client.post(
                submission(META.format(p=1, s="choose_cluster", c=CHANNEL, e="null")),
                content_type=FORM,
            )
            assert submitted.status == 200
            assert submitted.json()["response_action"] == "update"
            assert DATABASE_DOWN in json.dumps(submitted.json()["view"])
            home = client.send_event(app_home_opened_payload(user_id=OWNER))
            assert home.status == 200
            with urllib.request.urlopen(url + "/metrics", timeout=10) as metrics:
                assert metrics.status == 200
    finally:
        bot.engine.dispose()
    assert "Traceback" not in caplog.text
    assert rows(read_only) == before


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except urllib.error.URLError:  # not listening (yet)
        return 0, ""


def wait_until(condition: Any, *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"not within {timeout} s: {what}")


def failed_passes(metrics: str, loop: str) -> float:
    found = re.search(
        rf'privatelink_worker_passes_total{{loop="{loop}",outcome="failed"}} (\S+)', metrics
    )
    return float(found.group(1)) if found else 0.0


def test_the_worker_backs_off_reports_it_and_recovers(
    scratch: tuple[str, Engine, str], read_only: str, slack: RunningStandIn, tmp_path: Path
) -> None:
    url, server, name = scratch
    port = free_port()
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker", "--host", "127.0.0.1", "--port", str(port)],
            env=environment(slack, read_only),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        # /healthz turns 503 once no pass has ended for its limit (60 s: a blip is no outage,
        # and a liveness probe must not restart a worker that only waits for its database)
        problem = wait_until(
            lambda: (lambda s, b: b if s == 503 else None)(*get(base + "/healthz")),
            timeout=120,
            what="/healthz says 503",
        )
        reason = json.loads(problem)
        assert "read-only" in reason["last_error"], problem
        assert process.poll() is None, log_path.read_text()
        status, metrics = get(base + "/metrics")
        assert status == 200
        assert failed_passes(metrics, "outbox") >= 2 and failed_passes(metrics, "reconcile") >= 2
        logged = log_path.read_text()
        assert "Traceback" not in logged
        # backing off (doubling to 30 s): an outbox pass each second would fail 60 times
        assert 3 <= logged.count("outbox pass failed") <= 12, logged

        set_read_only(server, name, False)  # writes are taken again: the worker carries on
        wait_until(lambda: get(base + "/healthz")[0] == 200, timeout=60, what="healthy again")
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_serve_keeps_its_serving_processes(
    read_only: str, slack: RunningStandIn, tmp_path: Path
) -> None:
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
            + ["--processes", "2"],
            env=environment(slack, read_only),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get(base + "/metrics")[0] == 200, timeout=60, what="serving")
        wait_until(
            lambda: "runs the worker" in log_path.read_text(), timeout=30, what="a worker running"
        )
        time.sleep(10)  # the bug ended a serving process 4 times in 10 s
        assert process.poll() is None
        logged = log_path.read_text()
        assert "ended; ending it" not in logged and "cannot start the worker" not in logged
        assert logged.count("runs the worker") == 1, logged
        assert "Traceback" not in logged
        client = SlackRequestClient(base, signing_secret=SECRET)
        body = slash_command_body("/private-endpoint", "list", user_id=MEMBER, channel_id=CHANNEL)
        answer = client.post(body, content_type=FORM)
        assert answer.status == 200 and DATABASE_DOWN in answer.text
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert os.path.exists(log_path)
