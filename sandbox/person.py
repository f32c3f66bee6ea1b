"""A person using Slack: types the command, reads the modal, fills it in, clicks buttons.

It talks to the bot only as Slack does (signed HTTP requests) and reads what the bot made
Slack show from the local Web API stand-in. Tests and the demo share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.slack.workspace import TEAM_ID
from sandbox.slack_api import RunningStandIn
from sandbox.slack_client import (
    BotResponse,
    Delivery,
    SlackRequestClient,
    block_actions_payload,
    element_action,
    slash_command_body,
    state_values,
    view_submission_payload,
)

JsonDict = dict[str, Any]
COMMAND = "/private-endpoint"
WAIT_SECONDS = 10.0
SIGNED = Delivery()


@dataclass
class Person:
    """One Slack user in one channel."""

    user_id: str
    channel_id: str
    client: SlackRequestClient
    slack: RunningStandIn
    view_id: str | None = None
    team_id: str = TEAM_ID  # the person's workspace

    def command(
        self, text: str, *, delivery: Delivery = SIGNED, trigger_id: str | None = None
    ) -> BotResponse:
        """Type `/private-endpoint <text>`; the bot's in-band answer."""
        body = slash_command_body(
            COMMAND,
            text,
            user_id=self.user_id,
            channel_id=self.channel_id,
            response_url=self.slack.response_url(team=self.team_id),
            trigger_id=trigger_id,
            team_id=self.team_id,
        )
        return self.client.send_slash_command(body, delivery=delivery)

    def open_wizard(self, text: str = "create") -> JsonDict:
        """Type a command that opens the wizard; the modal Slack then shows."""
        team = self.team_id
        before = len(self.slack.standin.calls("views.open", team=team))
        response = self.command(text)
        assert response.status == 200, response.text
        calls = self.slack.standin.wait_for(
            "views.open", count=before + 1, timeout=WAIT_SECONDS, team=team
        )
        call = calls[-1]
        assert call.ok, call.response
        self.view_id = call.response["view"]["id"]
        return self.view()

    def view(self) -> JsonDict:
        """The modal on screen now."""
        assert self.view_id is not None, "no modal open"
        view = self.slack.standin.view(self.view_id, team=self.team_id)
        assert view is not None, "the modal is closed"
        return view

    def submit(
        self, answers: dict[str, Any] | None = None, *, delivery: Delivery = SIGNED
    ) -> BotResponse:
        """Fill the modal's inputs (by block id) and press its submit button."""
        view = self.view()
        payload = view_submission_payload(
            view, state_values(view, answers or {}), user_id=self.user_id, team_id=self.team_id
        )
        response = self.client.send_interaction(payload, delivery=delivery)
        if response.status == 200 and delivery.signed and delivery.secret is None:
            body = response.json() if response.text else None
            self.slack.standin.apply_view_response(view["id"], body, team=self.team_id)
        return response

    def resend(self, payload: JsonDict, *, delivery: Delivery) -> BotResponse:
        """Send an interaction again, as Slack's retries do."""
        return self.client.send_interaction(payload, delivery=delivery)

    def click_in_view(self, action_id: str, *, view: JsonDict | None = None) -> BotResponse:
        """Press a button (or pick an option) in the modal or the Home tab."""
        shown = view or self.view()
        action = element_action(shown["blocks"], action_id)
        payload = block_actions_payload(
            action, user_id=self.user_id, view=shown, team_id=self.team_id
        )
        return self.client.send_interaction(payload)

    def click_in_message(
        self, message: JsonDict, action_id: str, *, value: Any = None, block_id: str | None = None
    ) -> BotResponse:
        """Press a button (or pick an option) in a channel message."""
        action = element_action(message["blocks"], action_id, value=value, block_id=block_id)
        payload = block_actions_payload(
            action,
            user_id=self.user_id,
            channel_id=self.channel_id,
            message=message,
            response_url=self.slack.response_url(team=self.team_id),
            team_id=self.team_id,
        )
        return self.client.send_interaction(payload)
