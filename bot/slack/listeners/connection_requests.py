"""Accept and Reject on a connection request from an unknown endpoint (owners only).

The click is acked first; then the owner's decision is recorded for the reconcile worker,
which makes the AWS call and tells the request's thread. The clicker hears back in words,
privately: what will happen, that it was decided already, or why they may not decide.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.services import connection_requests
from bot.slack.deps import Deps
from bot.slack.ids import ActionId
from bot.slack.metadata import RequestRef, button_value
from bot.slack.middleware import Answer, ack_now, reply_after_ack
from bot.slack.views import messages


def _request_id(body: dict[str, Any]) -> int | None:
    ref = button_value(body, RequestRef)
    return ref.request_id if ref is not None else None


def register(app: App, deps: Deps) -> None:
    """Wire the Accept and Reject buttons of connection request messages."""

    def decide(body: dict[str, Any], *, accept: bool) -> Answer | None:
        request_id, user, team = _request_id(body), body["user"]["id"], body["team"]["id"]
        if request_id is None:
            return None
        said = deps.run(
            lambda session: connection_requests.owner_decides(
                session=session, request_id=request_id, user_id=user, accept=accept, team_id=team
            )
        )
        return Answer(messages.text_message(said))

    def on_accept(body: dict[str, Any]) -> Answer | None:
        return decide(body, accept=True)

    def on_reject(body: dict[str, Any]) -> Answer | None:
        return decide(body, accept=False)

    what = "decide a connection request"
    app.action(ActionId.ACCEPT_CONNECTION)(
        ack=ack_now, lazy=[reply_after_ack(what, on_accept, replace=False)]
    )
    app.action(ActionId.REJECT_CONNECTION)(
        ack=ack_now, lazy=[reply_after_ack(what, on_reject, replace=False)]
    )
