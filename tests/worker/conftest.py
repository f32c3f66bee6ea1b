"""Fixtures shared by the worker's tests: the Slack stand-in and a Web API client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn, SlackStandIn, start


@pytest.fixture
def running() -> Iterator[RunningStandIn]:
    """The Slack stand-in on a free port, trigger ids that never expire."""
    _, running = start(SlackStandIn(trigger_ttl=None))
    yield running
    running.stop()


@pytest.fixture
def client(running: RunningStandIn) -> WebClient:
    """The bot's Web API client, pointed at the stand-in."""
    return WebClient(token=DEFAULT_TOKEN, base_url=running.api_url)
