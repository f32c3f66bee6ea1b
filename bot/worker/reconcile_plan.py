"""What a unit needs, decided from the database's view and AWS's answers; no I/O here.

The worker reads AWS (services, connections), asks this module what follows, makes the AWS
mutations it names, and saves the outcome. Every reason is written for the person who has
to act on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.aws.privatelink import ACTIVE_CONNECTION_STATES, ConnectionInfo, ServiceInfo
from bot.domain.states import EndpointStatus, ServiceStatus, Stage
from bot.domain.transitions import EndpointEvent, ServiceEvent
from bot.services.reconcile import (
    EndpointOutcome,
    EndpointSnapshot,
    ServiceFacts,
    Unit,
    UnitOutcome,
    UnknownConnection,
    accepted,
    fail,
    move,
    removed,
    suggest,
)

PENDING_ACCEPTANCE = "pendingAcceptance"
ACCEPTED_STATES = frozenset({"pending", "available"})
REJECTABLE_STATES = frozenset(ACTIVE_CONNECTION_STATES)
GRANTED_STATUSES = frozenset(
    {EndpointStatus.INITIATING, EndpointStatus.PENDING, EndpointStatus.ACTIVE}
)
KEPT_STATUSES = GRANTED_STATUSES | {EndpointStatus.FAILED}
WAITING_STATUSES = frozenset({EndpointStatus.NOT_CONFIGURED, EndpointStatus.INITIATING})


# --- the endpoint service ---------------------------------------------------------------------


def facts_of(*, info: ServiceInfo) -> ServiceFacts:
    """AWS's answer about a service, as stored."""
    return ServiceFacts(info.service_id, info.service_name, info.az_ids, info.private_dns_name)


def service_failed(*, unit: Unit, reason: str, facts: ServiceFacts | None = None) -> UnitOutcome:
    """The service failed: so does every endpoint waiting for it, back at Interface Endpoint."""
    told = (
        f"The endpoint service of {unit.cluster.name} could not be created: {reason} "
        "Submit the Interface Endpoint step again to retry."
    )
    return UnitOutcome(
        facts=facts,
        service_event=ServiceEvent.AWS_FAILED,
        service_reason=reason,
        endpoints=[
            fail(endpoint=e, reason=told, stage=Stage.INTERFACE_ENDPOINT)
            for e in unit.endpoints
            if e.status in WAITING_STATUSES
        ],
    )


def service_outcome(*, unit: Unit, info: ServiceInfo | None) -> UnitOutcome:
    """What AWS's state of a `creating` service means for the unit."""
    service_id = unit.service.aws_service_id
    if info is None or info.state in ("Deleting", "Deleted"):
        return service_failed(
            unit=unit,
            reason=f"The endpoint service {service_id} was deleted on AWS outside the bot.",
        )
    facts = facts_of(info=info)
    if info.state == "Failed":
        nlb = unit.cluster.nlb_arn or "(none)"
        return service_failed(
            unit=unit,
            reason=f"AWS reports the endpoint service {info.service_id} as Failed. Check that "
            f"the cluster's network load balancer {nlb} exists and is active.",
            facts=facts,
        )
    if info.available:
        return UnitOutcome(facts=facts, service_event=ServiceEvent.AWS_AVAILABLE)
    current = ServiceFacts(
        service_id or "",
        unit.service.service_name or "",
        unit.service.az_ids,
        unit.service.private_dns_name,
    )
    return UnitOutcome(facts=facts if facts != current else None)


def effective_status(*, unit: Unit, outcome: UnitOutcome) -> ServiceStatus:
    """The service's status once `outcome` is saved."""
    if unit.service.status is ServiceStatus.CREATING:
        if outcome.service_event is ServiceEvent.AWS_AVAILABLE:
            return ServiceStatus.ACTIVE
        if outcome.service_event is ServiceEvent.AWS_FAILED:
            return ServiceStatus.FAILED
    return unit.service.status


# --- allowed principals -----------------------------------------------------------------------


def grants(*, unit: Unit) -> tuple[frozenset[str], frozenset[str]]:
    """Accounts to allow (an endpoint needs them) and to disallow (none needs them any more).

    A failed endpoint keeps its account allowed, for its retry, but does not ask for it again.
    """
    granted = unit.allowed_accounts
    wanted = {e.account_id for e in unit.endpoints if e.status in GRANTED_STATUSES and e.account_id}
    kept = {e.account_id for e in unit.endpoints if e.status in KEPT_STATUSES and e.account_id}
    return frozenset(wanted - granted), frozenset(granted - kept)


def grant_failed(*, unit: Unit, account_id: str, reason: str) -> list[EndpointOutcome]:
    """Allowing an account failed for good: its endpoints waiting to connect fail."""
    told = f"The bot could not allow AWS account {account_id} to connect: {reason}"
    return [
        fail(endpoint=e, reason=told, stage=Stage.INTERFACE_ENDPOINT)
        for e in unit.endpoints
        if e.status is EndpointStatus.INITIATING and e.account_id == account_id
    ]


# --- connections ------------------------------------------------------------------------------


@dataclass
class ConnectionPlan:
    """The AWS mutations a unit's connections need, and the outcomes that need none."""

    accept: dict[str, EndpointSnapshot] = field(default_factory=dict)
    reject: dict[str, EndpointSnapshot] = field(default_factory=dict)
    outcomes: list[EndpointOutcome] = field(default_factory=list)
    unknown: list[UnknownConnection] = field(default_factory=list)


def past_grace(*, endpoint: EndpointSnapshot, now: datetime, grace: float) -> bool:
    """Whether AWS has had time to list the endpoint's vpce (it may lag a new endpoint)."""
    return now - endpoint.updated_at >= timedelta(seconds=grace)


def not_found(*, unit: Unit, endpoint: EndpointSnapshot) -> str:
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
                plan.outcomes.append(removed(endpoint=endpoint))
        elif endpoint.status is EndpointStatus.INITIATING and endpoint.vpce_id:
            _verify(unit, endpoint, found, plan, now=now, grace=grace)
        elif endpoint.status in (EndpointStatus.PENDING, EndpointStatus.ACTIVE):
            _watch(endpoint, found, plan)
    _suggest(unit, connections, held, plan)
    return plan


def _verify(
    unit: Unit,
    endpoint: EndpointSnapshot,
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
    elif found.state == PENDING_ACCEPTANCE:
        plan.accept[found.vpce_id] = endpoint
    elif found.state in ACCEPTED_STATES:
        plan.outcomes.append(accepted(endpoint=endpoint))  # accepted before: a rerun after a crash
    else:
        plan.outcomes.append(
            fail(
                endpoint=endpoint,
                reason=(
                    f"The connection from {vpce} is {found.state} on AWS, so it cannot be "
                    "accepted. Create a new endpoint with the command shown and give its id."
                ),
                stage=stage,
            )
        )


def _watch(endpoint: EndpointSnapshot, found: ConnectionInfo | None, plan: ConnectionPlan) -> None:
    """A pending endpoint turns active once available; a lost connection fails it."""
    if found is None or found.state not in REJECTABLE_STATES:
        what = "no longer exists" if found is None else f"was {found.state}"
        plan.outcomes.append(
            fail(
                endpoint=endpoint,
                reason=(
                    f"The connection from {endpoint.vpce_id} {what} on AWS (for example, the "
                    "endpoint was deleted or rejected). Create a new endpoint, starting again "
                    "at the Interface Endpoint step."
                ),
                stage=Stage.INTERFACE_ENDPOINT,
            )
        )
    elif (
        endpoint.status is EndpointStatus.PENDING
        and endpoint.stage is Stage.DONE
        and found.state == "available"
    ):
        plan.outcomes.append(move(endpoint=endpoint, event=EndpointEvent.CONNECTION_AVAILABLE))


def _suggest(
    unit: Unit, connections: Mapping[str, ConnectionInfo], held: Set[str], plan: ConnectionPlan
) -> None:
    """Offer each waiting endpoint the newest unclaimed request from its account; the
    requests left over are unknown, for the project's owners to decide."""
    service_id = unit.service.aws_service_id or ""
    requests = sorted(
        (
            c
            for c in connections.values()
            if c.service_id == service_id
            and c.state == PENDING_ACCEPTANCE
            and c.vpce_id not in held
        ),
        key=lambda c: (c.created_at.timestamp() if c.created_at else 0.0, c.vpce_id),
        reverse=True,
    )
    taken: set[str] = set()
    for endpoint in unit.endpoints:
        if endpoint.status is not EndpointStatus.INITIATING or endpoint.vpce_id:
            continue
        mine = [c.vpce_id for c in requests if c.owner_account == endpoint.account_id]
        mine = [vpce for vpce in mine if vpce not in taken]
        pick = endpoint.suggested_vpce_id if endpoint.suggested_vpce_id in mine else None
        pick = pick or (mine[0] if mine else None)
        if pick:
            taken.add(pick)
        if pick != endpoint.suggested_vpce_id:
            plan.outcomes.append(suggest(endpoint=endpoint, vpce_id=pick))
    plan.unknown = [
        UnknownConnection(service_id, unit.service.service_name, c.vpce_id, c.owner_account)
        for c in requests
        if c.vpce_id not in taken
    ]
