"""`python -m bot worker` and `serve` (with its worker) as processes: they send what is queued
and stop cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from bot.storage.db import make_sessionmaker
from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn, SlackStandIn, start
from tests.slack.conftest import CHANNEL, SECRET, seed
from tests.slack.test_serve import free_port


@pytest.fixture
def standin() -> Iterator[RunningStandIn]:
    _, running = start(SlackStandIn(trigger_ttl=None))
    yield running
    running.stop()


def queue_one_notice(db_engine: Engine) -> None:
    """A project with one new private endpoint: its channel message waits in the outbox."""
    from bot.domain.states import EndpointStatus, Stage
    from bot.services import changes
    from bot.storage import orm

    sessions = make_sessionmaker(db_engine)
    seed(sessions)
    with sessions.begin() as session:
        cluster = session.query(orm.Cluster).filter_by(name="orders").one()
        endpoint = orm.PrivateEndpoint(
            project_id=cluster.project_id,
            cluster_id=cluster.id,
            stage=Stage.INTERFACE_ENDPOINT,
            status=EndpointStatus.NOT_CONFIGURED,
            created_by="U0OWNER01",
            channel_id=CHANNEL,
        )
        changes.created(session=session, endpoint=endpoint, actor="U0OWNER01")


@pytest.mark.parametrize("command", [["worker"], ["serve", "--host", "127.0.0.1"]])
def test_the_worker_sends_the_queue_and_stops_on_sigterm(
    command: list[str], clean_database: str, db_engine: Engine, standin: RunningStandIn
) -> None:
    queue_one_notice(db_engine)
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": standin.api_url,
        "DATABASE_URL": clean_database,
        "BOT_RECONCILE_INTERVAL": "0.5",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    env.pop("SLACK_APP_TOKEN", None)
    if command[0] == "serve":
        command = [*command, "--port", str(free_port())]
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *command], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        [post] = standin.standin.wait_for("chat.postMessage", timeout=20)
        assert post.ok and post.args["channel"] == CHANNEL
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=30)
        logs = process.stderr.read() if process.stderr else ""
    assert returncode == 0, logs[-2000:]
    assert "worker started" in logs


def test_leases_follow_the_reconcile_interval() -> None:
    from bot.worker.runner import SLACK_TIMEOUT_SECONDS, policies

    default_reconcile, default_send = policies(15.0)
    assert (default_reconcile.lease, default_send.lease) == (300.0, 120.0)
    quick_reconcile, quick_send = policies(0.5)
    assert (quick_reconcile.lease, quick_send.lease) == (10.0, 15.0)
    for reconcile, send in (policies(0.01), policies(1.0), policies(3600.0)):
        assert reconcile.lease_margin < reconcile.lease
        assert send.lease > SLACK_TIMEOUT_SECONDS
