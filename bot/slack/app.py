"""Build the Bolt app from settings; this module only wires."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack.client import MeteredWebClient
from bot.slack.deps import Deps
from bot.slack.listeners import commands, dns, home, requests, wizard


def build_app(deps: Deps, *, client: WebClient | None = None) -> App:
    """The Bolt app with every listener registered; Slack calls go to SLACK_API_URL."""
    token, signing_secret = deps.settings.require_slack()
    if client is None:
        client = MeteredWebClient(token=token, base_url=deps.settings.SLACK_API_URL)
    app = App(client=client, signing_secret=signing_secret, process_before_response=True)
    for module in (commands, wizard, home, dns, requests):
        module.register(app, deps)
    return app
