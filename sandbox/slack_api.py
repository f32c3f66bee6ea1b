"""The local Slack Web API stand-in: what tests, the demo and the CLI import.

In-process: ``url, running = start()`` serves a :class:`SlackStandIn` on a free port; point
``slack_sdk.WebClient(token=DEFAULT_TOKEN, base_url=url)`` at it and inspect ``running.standin``.
More workspaces: ``standin.add_workspace("T0002")``, then a token for it from the OAuth install
(``running.authorize_url()`` and ``oauth.v2.access`` with ``SANDBOX_CLIENT_ID`` /
``SANDBOX_CLIENT_SECRET``) or from ``standin.install("T0002")``; inspect with ``team="T0002"``.
From another process: :class:`StandInRemote` over the stand-in's ``/_standin/`` HTTP API.
"""

from sandbox.slack.faults import Reply
from sandbox.slack.oauth import AUTHORIZE_PATH, Authorization
from sandbox.slack.remote import StandInError, StandInRemote
from sandbox.slack.server import RunningStandIn, parse_api_request, serve, start
from sandbox.slack.standin import Call, SlackStandIn
from sandbox.slack.state import ApiError
from sandbox.slack.workspace import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    CODE_TTL_SECONDS,
    DEFAULT_TOKEN,
    INSTALLER_USER_ID,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    TEAM_ID,
    TRIGGER_TTL_SECONDS,
    TeamIdentity,
    bot_id_for,
    bot_user_id_for,
    new_trigger_id,
)

__all__ = [
    "APP_ID",
    "AUTHORIZE_PATH",
    "BOT_ID",
    "BOT_USER_ID",
    "CODE_TTL_SECONDS",
    "DEFAULT_TOKEN",
    "INSTALLER_USER_ID",
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "TEAM_ID",
    "TRIGGER_TTL_SECONDS",
    "ApiError",
    "Authorization",
    "Call",
    "Reply",
    "RunningStandIn",
    "SlackStandIn",
    "StandInError",
    "StandInRemote",
    "TeamIdentity",
    "bot_id_for",
    "bot_user_id_for",
    "new_trigger_id",
    "parse_api_request",
    "serve",
    "start",
]
