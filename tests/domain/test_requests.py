"""Connection requests from unknown endpoints: the transition table, enumerated, and what an
owner's click means in each status."""

from __future__ import annotations

import itertools

import pytest

from bot.domain.connection_requests import (
    OPEN_STATUSES,
    REQUEST_TRANSITIONS,
    RequestEvent,
    RequestStatus,
    decide,
    request_transition,
)
from bot.domain.errors import Conflict, IllegalTransition

R, E = RequestStatus, RequestEvent
VPCE = "vpce-0a1b2c3d4e5f67890"


@pytest.mark.parametrize(("status", "event"), list(itertools.product(R, E)))
def test_every_status_and_event_is_in_the_table_or_refused(status: R, event: E) -> None:
    if (status, event) in REQUEST_TRANSITIONS:
        assert request_transition(status, event) is REQUEST_TRANSITIONS[(status, event)]
    else:
        with pytest.raises(IllegalTransition, match=f"is {status.value} cannot take"):
            request_transition(status, event)


def test_a_pending_request_is_never_accepted_or_rejected_without_an_owner() -> None:
    assert {to for (s, _), to in REQUEST_TRANSITIONS.items() if s is R.PENDING} == {
        R.ACCEPT_REQUESTED,
        R.REJECT_REQUESTED,
        R.GONE,
    }


def test_final_statuses_take_no_event() -> None:
    final = set(R) - OPEN_STATUSES
    assert final == {R.ACCEPTED, R.REJECTED, R.GONE}
    assert not any(status in final for status, _ in REQUEST_TRANSITIONS)


@pytest.mark.parametrize("accept", [True, False])
def test_a_pending_request_is_decided(accept: bool) -> None:
    decision = decide(status=R.PENDING, accept=accept, vpce_id=VPCE, decided_by=None)
    assert decision.event is (E.ACCEPT if accept else E.REJECT)
    verb = "accept" if accept else "reject"
    assert decision.message.startswith(f"The bot will {verb} the connection from {VPCE}")


@pytest.mark.parametrize(
    ("status", "accept", "message"),
    [
        (R.ACCEPT_REQUESTED, True, f"{VPCE} is already being accepted, as <@U2> asked."),
        (R.REJECT_REQUESTED, False, f"{VPCE} is already being rejected, as <@U2> asked."),
        (R.ACCEPTED, True, f"{VPCE} was already accepted by <@U2>."),
        (R.REJECTED, False, f"{VPCE} was already rejected by <@U2>."),
    ],
)
def test_a_repeated_decision_changes_nothing(status: R, accept: bool, message: str) -> None:
    decision = decide(status=status, accept=accept, vpce_id=VPCE, decided_by="U2")
    assert (decision.event, decision.message) == (None, message)


@pytest.mark.parametrize(
    ("status", "accept", "message"),
    [
        (R.ACCEPT_REQUESTED, False, "is already being accepted, as <@U2> decided; it cannot be "),
        (R.REJECTED, True, "is already rejected, as <@U2> decided; it cannot be accepted now."),
        (R.GONE, True, "is no longer pending on AWS; there is nothing to decide."),
    ],
)
def test_a_contrary_decision_is_refused_in_words(status: R, accept: bool, message: str) -> None:
    with pytest.raises(Conflict, match=message.replace(".", r"\.")):
        decide(status=status, accept=accept, vpce_id=VPCE, decided_by="U2")
