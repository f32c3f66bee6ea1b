"""Connection requests from unknown endpoints: their statuses, the transition table, and what
an owner's Accept or Reject click means in each status.

A request that matches no private endpoint is never accepted on its own: it waits (`pending`)
until an owner asks to accept or reject it; the worker then makes the AWS call and records the
result. A request whose connection leaves `pendingAcceptance` on AWS meanwhile is `gone`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import Conflict, IllegalTransition


class RequestStatus(StrEnum):
    PENDING = "pending"
    ACCEPT_REQUESTED = "accept_requested"
    REJECT_REQUESTED = "reject_requested"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    GONE = "gone"


class RequestEvent(StrEnum):
    """What happens to a connection request, from an owner or from AWS."""

    SEEN = "seen"  # the worker found it on AWS, matching no private endpoint
    ACCEPT = "accept"  # an owner pressed Accept
    REJECT = "reject"  # an owner pressed Reject
    AWS_ACCEPTED = "aws_accepted"
    AWS_REJECTED = "aws_rejected"
    AWS_REFUSED = "aws_refused"  # AWS refused the owner's decision for good: decide again
    GONE = "gone"  # the connection is no longer pending on AWS, or a wizard took it over


R = RequestStatus
OPEN_STATUSES = frozenset({R.PENDING, R.ACCEPT_REQUESTED, R.REJECT_REQUESTED})
"""Statuses the worker still acts on; the others are final."""

REQUEST_TRANSITIONS: dict[tuple[R, RequestEvent], R] = {
    (R.PENDING, RequestEvent.ACCEPT): R.ACCEPT_REQUESTED,
    (R.PENDING, RequestEvent.REJECT): R.REJECT_REQUESTED,
    (R.ACCEPT_REQUESTED, RequestEvent.AWS_ACCEPTED): R.ACCEPTED,
    (R.REJECT_REQUESTED, RequestEvent.AWS_REJECTED): R.REJECTED,
    (R.ACCEPT_REQUESTED, RequestEvent.AWS_REFUSED): R.PENDING,
    (R.REJECT_REQUESTED, RequestEvent.AWS_REFUSED): R.PENDING,
    **{(status, RequestEvent.GONE): R.GONE for status in OPEN_STATUSES},
}


def request_transition(status: R, event: RequestEvent) -> R:
    """Apply `event` to a request in `status`, or raise IllegalTransition."""
    try:
        return REQUEST_TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition(
            f"A connection request that is {status.value} cannot take '{event.value}'."
        ) from None


@dataclass(frozen=True, slots=True)
class Decision:
    """What an owner's click does: the event to apply (None: nothing, said in `message`)."""

    event: RequestEvent | None
    message: str


def decide(*, status: R, accept: bool, vpce_id: str, decided_by: str | None) -> Decision:
    """An owner pressed Accept (`accept`) or Reject on a request in `status`.

    A repeat of a decision already taken (a double click, a second owner agreeing) changes
    nothing; a decision against one already taken is refused, in words.
    """
    verb = "accept" if accept else "reject"
    who = f"<@{decided_by}>" if decided_by else "an owner"
    if status is R.PENDING:
        event = RequestEvent.ACCEPT if accept else RequestEvent.REJECT
        return Decision(
            event,
            f"The bot will {verb} the connection from {vpce_id} within a minute; "
            "the thread says when it is done.",
        )
    wanted = R.ACCEPT_REQUESTED if accept else R.REJECT_REQUESTED
    done = R.ACCEPTED if accept else R.REJECTED
    if status is wanted:
        return Decision(None, f"{vpce_id} is already being {verb}ed, as {who} asked.")
    if status is done:
        return Decision(None, f"{vpce_id} was already {verb}ed by {who}.")
    if status is R.GONE:
        raise Conflict(
            f"The request from {vpce_id} is no longer pending on AWS; there is nothing to decide."
        )
    taken = {
        R.ACCEPT_REQUESTED: "being accepted",
        R.REJECT_REQUESTED: "being rejected",
        R.ACCEPTED: "accepted",
        R.REJECTED: "rejected",
    }[status]
    raise Conflict(f"{vpce_id} is already {taken}, as {who} decided; it cannot be {verb}ed now.")
