"""The connection request thread's builders: valid Block Kit, buttons only while pending,
the decision shown once taken, and the notice read back from its outbox payload."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.connection_requests import RequestStatus
from bot.notices.connection_requests import (
    CONNECTION_REQUEST,
    ConnectionRequestNotice,
    RequestSnapshot,
)
from bot.notices.registry import read_notice
from bot.slack import renderers
from bot.slack.ids import ActionId
from bot.slack.metadata import RequestRef
from bot.slack.views.connection_requests import request_message, request_reply
from tests.slack.checks import check_message

VPCE = "vpce-0a1b2c3d4e5f67890"
SERVICE = "vpce-svc-0123456789abcdef0"


def snapshot(status: RequestStatus = RequestStatus.PENDING, **changes: Any) -> RequestSnapshot:
    values: dict[str, Any] = {
        "id": 3,
        "project_id": 1,
        "cluster": "orders",
        "region": "us-west-2",
        "service_id": SERVICE,
        "vpce_id": VPCE,
        "owner_account": "111122223333",
        "status": status,
        "owners": ("U0OWNER01", "U0OWNER02"),
        "decided_by": None if status is RequestStatus.PENDING else "U0OWNER02",
    }
    values.update(changes)
    return RequestSnapshot(**values)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"])


def test_a_pending_request_names_it_mentions_the_owners_and_offers_both_decisions() -> None:
    message = check_message(request_message(snapshot()))

    assert message["text"] == (
        f"Connection request from an unknown endpoint: {VPCE} in account 111122223333 → "
        "orders (us-west-2): pending"
    )
    assert "<@U0OWNER01>, <@U0OWNER02>" in shown(message)
    accept, reject = buttons(message)
    assert (accept["action_id"], accept["style"]) == (ActionId.ACCEPT_CONNECTION, "primary")
    assert (reject["action_id"], reject["style"]) == (ActionId.REJECT_CONNECTION, "danger")
    assert "confirm" not in accept and reject["confirm"]["confirm"]["text"] == "Reject"
    assert RequestRef.model_validate_json(accept["value"]) == RequestRef(request_id=3)
    assert accept["value"] == reject["value"]


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (RequestStatus.ACCEPT_REQUESTED, "Accepting, as <@U0OWNER02> asked."),
        (RequestStatus.REJECT_REQUESTED, "Rejecting, as <@U0OWNER02> asked."),
        (RequestStatus.ACCEPTED, "Accepted by <@U0OWNER02>"),
        (RequestStatus.REJECTED, "Rejected by <@U0OWNER02>"),
        (RequestStatus.GONE, "Nothing to decide any more. AWS no longer lists it."),
    ],
)
def test_once_decided_the_buttons_give_way_to_the_decision(
    status: RequestStatus, says: str
) -> None:
    detail = "AWS no longer lists it." if status is RequestStatus.GONE else None
    message = check_message(request_message(snapshot(status, detail=detail)))

    assert buttons(message) == []
    assert says in shown(message)
    assert message["text"].endswith(status.value.replace("_", " "))


def test_a_refused_decision_shows_why_above_the_buttons_again() -> None:
    message = check_message(
        request_message(snapshot(detail="AWS refused the request: <no> & more", decided_by=None))
    )

    assert len(buttons(message)) == 2
    assert "AWS refused the request: &lt;no&gt; &amp; more" in shown(message)


def test_long_and_odd_values_stay_within_slacks_limits() -> None:
    message = request_message(
        snapshot(RequestStatus.GONE, cluster="c" * 63, detail="x" * 5000, owners=())
    )
    check_message(message)
    check_message(request_message(snapshot(owners=())))
    assert "no owner is named yet" in shown(request_message(snapshot(owners=())))


def test_a_reply_keeps_mentions_and_escapes_the_rest() -> None:
    reply = check_message(request_reply("<@U0OWNER01> asked to accept <vpce> & go"))

    assert reply["blocks"][0]["text"]["text"] == (
        "<@U0OWNER01> asked to accept &lt;vpce&gt; &amp; go"
    )


def test_the_notice_reads_back_from_its_outbox_payload() -> None:
    notice = ConnectionRequestNotice(text="seen", request=snapshot())
    payload = json.loads(json.dumps(notice.model_dump(mode="json")))

    again = read_notice(CONNECTION_REQUEST, payload)

    assert again == notice and isinstance(again, ConnectionRequestNotice)
    assert again.thread_key == f"request:{SERVICE}:{VPCE}"
    assert renderers.parent(again) == request_message(snapshot())
    assert renderers.reply(again) == request_reply("seen")
    assert not again.broadcast
