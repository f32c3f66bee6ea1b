"""Endpoint connections in a reconcile pass: what each connection state AWS reports means for
the endpoint waiting on it (plan, no I/O), and the region's batched read, accepts and rejects
(AWS calls). The endpoints' changes are saved with the unit (`bot.reconcile.save`).

The rule: accept only the vpce id the wizard recorded, on this cluster's service, owned by the
account the user gave. Every state AWS reports is a named case below with its words for the
person who has to act on it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.aws.privatelink import ACTIVE_CONNECTION_STATES, ConnectionInfo, PrivateLinkGateway
from bot.domain.errors import AwsError
from bot.domain.states import ConnectionState, EndpointStatus, Stage
from bot.domain.transitions import EndpointEvent
from bot.reconcile.report import PassReport, aws_failed
from bot.reconcile.units import (
    EndpointOutcome,
    SeenEndpoint,
    Unit,
    UnknownConnection,
    accepted,
    adopt,
    fail,
    move,
    removed,
    suggest,
)

S = ConnectionState
ACCEPTED_STATES = frozenset({S.PENDING, S.AVAILABLE})
REJECTABLE_STATES = frozenset(ACTIVE_CONNECTION_STATES)
UNDECIDED_CODES = frozenset({"InvalidState"})
"""A connection that changed state since it was read: the next pass decides it afresh."""

CLOSED_WORDS: dict[str, str] = {
    S.REJECTED: "rejected on AWS",
    S.EXPIRED: "expired on AWS (it was not accepted in time)",
    S.FAILED: "failed on AWS",
    S.DELETING: "being deleted on AWS (its endpoint is being deleted)",
    S.DELETED: "deleted on AWS (its endpoint was deleted)",
}
"""Each state in which a connection can no longer carry traffic, as a person reads it after
"is" or "was"."""


def closed_words(state: str) -> str:
    """What a connection's closed state means, in words (AWS's own word for one not named)."""
    return CLOSED_WORDS.get(state, f"{state} on AWS")


# --- plan -------------------------------------------------------------------------------------


@dataclass
class ConnectionPlan:
    """The AWS mutations a unit's connections need, and the outcomes that need none."""

    accept: dict[str, SeenEndpoint] = field(default_factory=dict)
    reject: dict[str, SeenEndpoint] = field(default_factory=dict)
    outcomes: list[EndpointOutcome] = field(default_factory=list)
    unknown: list[UnknownConnection] = field(default_factory=list)


def reported_gone(endpoint: SeenEndpoint, found: ConnectionInfo | None) -> str | None:
    """What AWS reports of a terminated endpoint's own interface endpoint, in words."""
    if endpoint.vpce_id is None:
        return None
    if found is None:
        return f"AWS no longer lists {endpoint.vpce_id}: your endpoint is gone"
    if found.state in (S.DELETING, S.DELETED):
        return f"{endpoint.vpce_id} is {closed_words(found.state)}"
    return (
        f"its connection is {closed_words(found.state)}; {endpoint.vpce_id} stays in your "
        "AWS account until you delete it"
    )


def past_grace(*, endpoint: SeenEndpoint, now: datetime, grace: float) -> bool:
    """Whether AWS has had time to list the endpoint's vpce (it may lag a new endpoint)."""
    return now - endpoint.updated_at >= timedelta(seconds=grace)


def not_found(*, unit: Unit, endpoint: SeenEndpoint) -> str:
    """Why a vpce id that AWS does not know failed."""
    return (
        f"{endpoint.vpce_id} was not found: check the id, and that you created it with the "
        f"service name shown ({unit.service.service_name}) in {unit.cluster.region}."
    )


def plan_connections(
    *,
    unit: Unit,
    active: bool,
    connections: Mapping[str, ConnectionInfo] | None,
    held: Set[str],
    now: datetime,
    grace: float,
) -> ConnectionPlan:
    """What the unit's endpoints need, from the region's connections (None: not read)."""
    plan = ConnectionPlan()
    if not active:
        plan.outcomes = [
            removed(endpoint=e) for e in unit.endpoints if e.status is EndpointStatus.DELETING
        ]
        return plan
    if connections is None:
        return plan
    service_id = unit.service.aws_service_id
    for endpoint in unit.endpoints:
        found = connections.get(endpoint.vpce_id) if endpoint.vpce_id else None
        if endpoint.status is EndpointStatus.DELETING:
            mine = found is not None and found.service_id == service_id
            if mine and found is not None and found.state in REJECTABLE_STATES:
                plan.reject[found.vpce_id] = endpoint
            else:
                seen = reported_gone(endpoint, found)
                plan.outcomes.append(removed(endpoint=endpoint, seen=seen))
        elif endpoint.status is EndpointStatus.INITIATING and endpoint.vpce_id:
            _verify(unit, endpoint, found, plan, now=now, grace=grace)
        elif endpoint.status in (EndpointStatus.PENDING, EndpointStatus.ACTIVE):
            _watch(endpoint, found, plan)
    _suggest(unit, connections, held, plan)
    return plan


def _verify(
    unit: Unit,
    endpoint: SeenEndpoint,
    found: ConnectionInfo | None,
    plan: ConnectionPlan,
    *,
    now: datetime,
    grace: float,
) -> None:
    """The rule: accept only this vpce, on this cluster's service, from the account given."""
    stage = Stage.ACCEPT_ENDPOINT_CONNECTION
    vpce, account = endpoint.vpce_id, endpoint.account_id
    if found is None:
        if past_grace(endpoint=endpoint, now=now, grace=grace):
            reason = not_found(unit=unit, endpoint=endpoint)
            plan.outcomes.append(fail(endpoint=endpoint, reason=reason, stage=stage))
    elif found.service_id != unit.service.aws_service_id:
        plan.outcomes.append(
            fail(
                endpoint=endpoint,
                reason=(
                    f"{vpce} belongs to another endpoint service ({found.service_id}), not to "
                    f"{unit.service.service_name} of {unit.cluster.name}. Create the endpoint "
                    "with the service name shown and give its id."
                ),
                stage=stage,
            )
        )
    elif found.owner_account != account:
        plan.outcomes.append(
            fail(
                endpoint=endpoint,
                reason=(
                    f"{vpce} is owned by AWS account {found.owner_account}, not by {account}, the "
                    "account you gave, so the bot did not accept it. Give the id of an endpoint "
                    f"created in {account}."
                ),
                stage=stage,
            )
        )
    elif found.state == S.PENDING_ACCEPTANCE:
        plan.accept[found.vpce_id] = endpoint
    elif found.state in ACCEPTED_STATES:
        plan.outcomes.append(accepted(endpoint=endpoint))  # accepted before: a rerun after a crash
    else:  # rejected, expired, failed, deleting, deleted
        plan.outcomes.append(
            fail(
                endpoint=endpoint,
                reason=(
                    f"The connection from {vpce} is {closed_words(found.state)}, so it cannot be "
                    "accepted. Create a new endpoint with the command shown and give its id."
                ),
                stage=stage,
            )
        )


def _watch(endpoint: SeenEndpoint, found: ConnectionInfo | None, plan: ConnectionPlan) -> None:
    """A pending endpoint turns active once available; a lost connection fails it."""
    if found is None or found.state not in REJECTABLE_STATES:
        what = (
            "no longer exists on AWS (the endpoint was deleted, or its connection rejected)"
            if found is None
            else f"was {closed_words(found.state)}"
        )
        plan.outcomes.append(
            fail(
                endpoint=endpoint,
                reason=(
                    f"The connection from {endpoint.vpce_id} {what}. Create a new endpoint, "
                    "starting again at the Interface Endpoint step."
                ),
                stage=Stage.INTERFACE_ENDPOINT,
            )
        )
    elif (
        endpoint.status is EndpointStatus.PENDING
        and endpoint.stage is Stage.DONE
        and found.state == S.AVAILABLE
    ):
        plan.outcomes.append(move(endpoint=endpoint, event=EndpointEvent.CONNECTION_AVAILABLE))


def _suggest(
    unit: Unit, connections: Mapping[str, ConnectionInfo], held: Set[str], plan: ConnectionPlan
) -> None:
    """Give each waiting endpoint the newest unclaimed request from its account: taken as its
    own when it is the only wizard of that account waiting on this service (the user's block
    made it), else offered, for its user to confirm. The requests left over are unknown, for
    the project's owners to decide."""
    service_id = unit.service.aws_service_id or ""
    requests = sorted(
        (
            c
            for c in connections.values()
            if c.service_id == service_id
            and c.state == S.PENDING_ACCEPTANCE
            and c.vpce_id not in held
        ),
        key=lambda c: (c.created_at.timestamp() if c.created_at else 0.0, c.vpce_id),
        reverse=True,
    )
    taken: set[str] = set()
    waiting = [e for e in unit.endpoints if e.status is EndpointStatus.INITIATING and not e.vpce_id]
    per_account = Counter(e.account_id for e in waiting)
    for endpoint in waiting:
        mine = [c.vpce_id for c in requests if c.owner_account == endpoint.account_id]
        mine = [vpce for vpce in mine if vpce not in taken]
        pick = endpoint.suggested_vpce_id if endpoint.suggested_vpce_id in mine else None
        pick = pick or (mine[0] if mine else None)
        if pick:
            taken.add(pick)
        if pick and per_account[endpoint.account_id] == 1:
            plan.outcomes.append(adopt(endpoint=endpoint, vpce_id=pick))
        elif pick != endpoint.suggested_vpce_id:
            plan.outcomes.append(suggest(endpoint=endpoint, vpce_id=pick))
    plan.unknown = [
        UnknownConnection(service_id, unit.service.service_name, c.vpce_id, c.owner_account)
        for c in requests
        if c.vpce_id not in taken
    ]


# --- AWS calls --------------------------------------------------------------------------------


def read_connections(
    *, gateway: PrivateLinkGateway, service_ids: Sequence[str] | None, report: PassReport
) -> dict[str, ConnectionInfo] | None:
    """Connections to these services (None: to any of the provider's), by vpce id."""
    if service_ids is not None and not service_ids:
        return {}
    try:
        found = gateway.list_connections(service_ids=service_ids)
    except AwsError as error:
        aws_failed(
            report=report, step="list_connections", unit=None, error=error, region=gateway.region
        )
        return None
    return {c.vpce_id: c for c in found}


def accept(
    *,
    gateway: PrivateLinkGateway,
    unit: Unit,
    service_id: str,
    endpoints: dict[str, SeenEndpoint],
    report: PassReport,
) -> list[EndpointOutcome]:
    """Accept the endpoints' connections in one call; what each led to."""
    if not endpoints:
        return []
    stage = Stage.ACCEPT_ENDPOINT_CONNECTION
    try:
        failures = gateway.accept_connections(service_id=service_id, vpce_ids=list(endpoints))
    except AwsError as error:
        aws_failed(report=report, step="accept_connections", unit=unit, error=error)
        if error.retryable:
            return []
        return [fail(endpoint=e, reason=str(error), stage=stage) for e in endpoints.values()]
    refused = {f.vpce_id: f for f in failures}
    outcomes = []
    for vpce_id, endpoint in endpoints.items():
        failure = refused.get(vpce_id)
        if failure is None:
            report.accepted += 1
            outcomes.append(accepted(endpoint=endpoint))
        elif failure.code not in UNDECIDED_CODES:
            aws_failed(report=report, step="accept_connections", unit=unit, error=failure.error)
            outcomes.append(fail(endpoint=endpoint, reason=str(failure.error), stage=stage))
    return outcomes


def reject(
    *,
    gateway: PrivateLinkGateway,
    unit: Unit,
    service_id: str,
    endpoints: dict[str, SeenEndpoint],
    report: PassReport,
) -> list[EndpointOutcome]:
    """Reject the terminated endpoints' connections in one call; the rows that may go."""
    if not endpoints:
        return []
    try:
        failures = gateway.reject_connections(service_id=service_id, vpce_ids=list(endpoints))
    except AwsError as error:
        aws_failed(report=report, step="reject_connections", unit=unit, error=error)
        return []
    refused = {f.vpce_id: f for f in failures}
    outcomes = []
    for vpce_id, endpoint in endpoints.items():
        failure = refused.get(vpce_id)
        gone = failure is not None and (
            failure.code in UNDECIDED_CODES or failure.code.endswith("NotFound")
        )
        if failure is None:
            report.rejected += 1
        if failure is None:
            seen: str | None = (
                f"its connection was rejected; {vpce_id} stays in your AWS account until you "
                "delete it"
            )
        elif gone and failure.code.endswith("NotFound"):
            seen = f"AWS no longer lists {vpce_id}"
        else:
            seen = None
        if failure is None or gone:
            outcomes.append(removed(endpoint=endpoint, seen=seen))
        else:
            aws_failed(report=report, step="reject_connections", unit=unit, error=failure.error)
    return outcomes
