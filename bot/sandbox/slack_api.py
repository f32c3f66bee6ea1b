"""The local Slack Web API stand-in: what tests, the demo and the CLI import.

In-process: ``url, running = start()`` serves a :class:`SlackStandIn` on a free port; point
``slack_sdk.WebClient(token=DEFAULT_TOKEN, base_url=url)`` at it and inspect ``running.standin``.
From another process: :class:`StandInRemote` over the stand-in's ``/_standin/`` HTTP API.
"""

from bot.sandbox.slack.faults import Reply
from bot.sandbox.slack.remote import StandInError, StandInRemote
from bot.sandbox.slack.server import RunningStandIn, parse_api_request, serve, start
from bot.sandbox.slack.standin import Call, SlackStandIn
from bot.sandbox.slack.state import ApiError
from bot.sandbox.slack.workspace import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    DEFAULT_TOKEN,
    TEAM_ID,
    TRIGGER_TTL_SECONDS,
    new_trigger_id,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "DEFAULT_TOKEN",
    "TEAM_ID",
    "TRIGGER_TTL_SECONDS",
    "ApiError",
    "Call",
    "Reply",
    "RunningStandIn",
    "SlackStandIn",
    "StandInError",
    "StandInRemote",
    "new_trigger_id",
    "parse_api_request",
    "serve",
    "start",
]
