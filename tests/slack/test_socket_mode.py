"""`python -m bot serve` in Socket Mode (SLACK_APP_TOKEN set), against the stand-in's Socket
Mode: the bot opens the connection with its app-level token, answers a slash command in its
ack, and does the work after the ack of an event (the Home tab)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import Engine

from bot.storage.db import make_sessionmaker
from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn
from sandbox.slack_client import app_home_opened_payload, slash_command_body
from tests.slack.conftest import CHANNEL, OWNER, SECRET, seed

APP_TOKEN = "xapp-1-A0SOCKET01-1-0123456789abcdef"
CONNECT_SECONDS = 30.0


@pytest.fixture
def socket_bot(
    clean_database: str, db_engine: Engine, standin: RunningStandIn
) -> Iterator[RunningStandIn]:
    """The bot in Socket Mode, connected to the stand-in; the stand-in."""
    seed(make_sessionmaker(db_engine))
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": standin.api_url,
        "DATABASE_URL": clean_database,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--no-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert standin.standin.links.wait_connected(CONNECT_SECONDS), "the bot did not connect"
        yield standin
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_bot_opens_socket_mode_with_its_app_token(socket_bot: RunningStandIn) -> None:
    (opened, *_) = socket_bot.standin.calls("apps.connections.open")
    assert opened.ok


def test_a_slash_command_is_answered_in_the_ack(socket_bot: RunningStandIn) -> None:
    body = slash_command_body(
        "/private-endpoint",
        "list",
        user_id=OWNER,
        channel_id=CHANNEL,
        response_url=socket_bot.response_url(),
    )
    answer = socket_bot.standin.links.deliver("slash_commands", dict(parse_qsl(body)))
    assert "payments has no private endpoints" in str(answer)


def test_an_event_is_acked_and_its_work_done_after(socket_bot: RunningStandIn) -> None:
    links = socket_bot.standin.links
    assert links.deliver("events_api", app_home_opened_payload(user_id=OWNER)) == {}
    (published,) = socket_bot.standin.wait_for("views.publish", timeout=10)
    assert published.ok and published.args["user_id"] == OWNER
