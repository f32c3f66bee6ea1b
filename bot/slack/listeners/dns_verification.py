"""The Verify now button of a private DNS name's channel message.

It only queues the request (owners only): the worker starts AWS's check and posts the result
in the message's thread, as every AWS call is the worker's.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.services import dns_verification
from bot.slack.deps import Deps
from bot.slack.ids import ActionId
from bot.slack.metadata import ServiceRef, button_value
from bot.slack.middleware import Answer, ack_now, reply_after_ack
from bot.slack.views import messages


def _service_id(body: dict[str, Any]) -> int | None:
    ref = button_value(body, ServiceRef)
    return ref.service_id if ref is not None else None


def register(app: App, deps: Deps) -> None:
    """Wire Verify now."""

    def verify(body: dict[str, Any]) -> Answer | None:
        service_id, user, team = _service_id(body), body["user"]["id"], body["team"]["id"]
        if service_id is None:
            return None
        text = deps.run(
            lambda session: dns_verification.request_verification(
                session=session, service_id=service_id, user_id=user, team_id=team
            )
        )
        return Answer(messages.text_message(text))

    app.action(ActionId.VERIFY_DNS)(
        ack=ack_now,
        lazy=[reply_after_ack("request private DNS verification", verify, replace=False)],
    )
