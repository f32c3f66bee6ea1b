"""`python -m bot serve` as a process: health, metrics, and a signed request."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn
from sandbox.slack_client import SlackRequestClient
from tests.slack.conftest import CHANNEL, OWNER, SECRET, seed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def first_health(process: subprocess.Popen[str], base: str) -> tuple[int, str]:
    """`GET /healthz` of a `serve` just started, once it listens (20 s at most); fails with
    its stderr if it exits first."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return get(f"{base}/healthz")
        except (urllib.error.URLError, ConnectionError):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)


def test_serve_answers_health_metrics_and_slack(
    clean_database: str, db_engine: object, standin: RunningStandIn
) -> None:
    from bot.storage.db import make_sessionmaker

    seed(make_sessionmaker(db_engine))  # type: ignore[arg-type]
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": standin.api_url,
        "DATABASE_URL": clean_database,
    }
    env.pop("SLACK_APP_TOKEN", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-worker",
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        status, body = first_health(process, base)
        assert (status, body) == (200, "ok\n")
        client = SlackRequestClient(base, signing_secret=SECRET)
        reply = client.slash_command("/private-endpoint", "list", user_id=OWNER, channel_id=CHANNEL)
        assert reply.status == 200 and "payments has no private endpoints" in reply.text
        status, metrics = get(f"{base}/metrics")
        assert status == 200
        assert 'privatelink_endpoints{status="active"} 0' in metrics
        assert "privatelink_outbox_backlog 0" in metrics
        assert "privatelink_outbox_dead 0" in metrics
        assert "privatelink_slack_answer_seconds_count 1.0" in metrics  # the list command
        assert get(f"{base}/nothing-here")[0] == 404
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
