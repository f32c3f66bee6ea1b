"""Build the Bolt app from settings; this module only wires (and keeps out ill-shaped payloads)."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient

from bot.slack import authorize, oauth
from bot.slack.client import MeteredWebClient, metered
from bot.slack.deps import Deps
from bot.slack.dispatch import SharedReading
from bot.slack.gate import origin_of, shape_error
from bot.slack.listeners import (
    commands,
    connection_requests,
    dns_verification,
    home,
    membership,
    wizard,
)
from bot.slack.listeners import installs as uninstalls
from bot.slack.oauth import InstallationStore


def build_app(
    deps: Deps, *, client: WebClient | None = None, installs: InstallationStore | None = None
) -> App:
    """The Bolt app with every listener registered; Slack calls go to SLACK_API_URL. With
    `installs` (SLACK_CLIENT_ID set), workspaces install it by OAuth and each request is
    answered with its workspace's token; else every request uses SLACK_BOT_TOKEN."""
    token, signing_secret = deps.settings.require_slack()
    if client is None:
        client = MeteredWebClient(token=token, base_url=deps.settings.SLACK_API_URL)
    flow = None if installs is None else oauth.oauth_settings(deps.settings, installs)
    app = App(
        client=client,
        signing_secret=signing_secret,
        process_before_response=True,
        oauth_settings=flow,
        before_authorize=None if installs is None else authorize.mark_submission,
    )
    SharedReading.put_in(app)  # after-ack halves share the gate's reading
    if installs is not None:  # answers given before any listener: see bot/slack/authorize.py
        app.error(authorize.on_error)
    app.use(WellShaped(origins=(origin_of(deps.settings.SLACK_API_URL),)))
    app.use(MeteredClient())
    for module in (commands, wizard, home, dns_verification, connection_requests, membership):
        module.register(app, deps)
    if installs is not None:
        uninstalls.register(app, deps, installs)
    return app


class MeteredClient(Middleware):
    """Listeners call Slack through the bot's client (kept-alive connections, failures
    counted on /metrics), in place of the plain one Bolt makes for each request."""

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        req.context["client"] = metered(req.context.client)
        return next()


class WellShaped(Middleware):
    """Only requests with the shape listeners rely on reach them (over HTTP the gate has checked
    already; Socket Mode's payloads are checked here)."""

    def __init__(self, *, origins: tuple[str, ...]) -> None:
        self.origins = origins

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        problem = shape_error(req.body, response_origins=self.origins)
        if problem is not None:
            return BoltResponse(status=400, body=f"malformed request: {problem}")
        return next()
