"""Accept and Reject on a connection request from an unknown endpoint (owners only).

The click is acked first; then the owner's decision is recorded for the reconcile worker,
which makes the AWS call and tells the request's thread. The clicker hears back in words,
privately: what will happen, that it was decided already, or why they may not decide.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, Respond

from bot.domain.errors import DomainError
from bot.services import requests
from bot.slack.deps import Deps, ack_now, after_ack
from bot.slack.ids import ActionId
from bot.slack.metadata import RequestRef, button_value
from bot.slack.views import messages


def _request_id(body: dict[str, Any]) -> int | None:
    ref = button_value(body, RequestRef)
    return ref.request_id if ref is not None else None


def register(app: App, deps: Deps) -> None:
    """Wire the Accept and Reject buttons of connection request messages."""

    def decide(body: dict[str, Any], respond: Respond, *, accept: bool) -> None:
        request_id, user = _request_id(body), body["user"]["id"]
        if request_id is None:
            return
        with after_ack("decide a connection request"):
            try:
                said = deps.run(
                    lambda session: requests.owner_decides(
                        session=session, request_id=request_id, user_id=user, accept=accept
                    )
                )
            except DomainError as error:
                reply = messages.refusal(str(error))
            else:
                reply = messages.text_message(said)
            respond(response_type="ephemeral", replace_original=False, **reply)

    def on_accept(body: dict[str, Any], respond: Respond) -> None:
        decide(body, respond, accept=True)

    def on_reject(body: dict[str, Any], respond: Respond) -> None:
        decide(body, respond, accept=False)

    app.action(ActionId.ACCEPT_CONNECTION)(ack=ack_now, lazy=[on_accept])
    app.action(ActionId.REJECT_CONNECTION)(ack=ack_now, lazy=[on_reject])
