"""Build the Bolt app from settings; this module only wires (and keeps out ill-shaped payloads)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient

from bot.slack.client import MeteredWebClient
from bot.slack.deps import Deps
from bot.slack.gate import origin_of, shape_error
from bot.slack.listeners import commands, dns, home, membership, requests, wizard


def build_app(deps: Deps, *, client: WebClient | None = None) -> App:
    """The Bolt app with every listener registered; Slack calls go to SLACK_API_URL."""
    token, signing_secret = deps.settings.require_slack()
    if client is None:
        client = MeteredWebClient(token=token, base_url=deps.settings.SLACK_API_URL)
    app = App(client=client, signing_secret=signing_secret, process_before_response=True)
    origins = (origin_of(deps.settings.SLACK_API_URL),)
    app.middleware(lambda body, next: well_shaped(body, next, origins))
    for module in (commands, wizard, home, dns, requests, membership):
        module.register(app, deps)
    return app


def well_shaped(
    body: dict[str, Any], next: Callable[[], BoltResponse], origins: tuple[str, ...]
) -> BoltResponse:
    """Only requests with the shape listeners rely on reach them (over HTTP the gate has checked
    already; Socket Mode's payloads are checked here)."""
    problem = shape_error(body, response_origins=origins)
    if problem is not None:
        return BoltResponse(status=400, body=f"malformed request: {problem}")
    return next()
