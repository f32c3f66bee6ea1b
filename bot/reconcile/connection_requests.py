"""Connection requests from unknown endpoints in a reconcile pass: plan, AWS calls; the steps
are saved with the unit (`bot.services.connection_requests.settle`).

Everything comes from the region's one batched read of connections (no AWS call per request)
and one query for the region's recorded requests (`recorded`). Unknown requests not yet
recorded are left in the unit's plan, to be recorded and announced to the project's owners
once; an owner's decision is carried out on AWS (at most one accept and one reject call per
service), and a request whose connection has left `pendingAcceptance` meanwhile is closed as
gone. Requests are never accepted or rejected without an owner's word.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from bot.aws.privatelink import ConnectionFailure, ConnectionInfo, PrivateLinkGateway
from bot.domain.connection_requests import OPEN_STATUSES, RequestEvent, RequestStatus
from bot.domain.errors import AwsError
from bot.domain.states import ConnectionState
from bot.reconcile.connections import (
    ACCEPTED_STATES,
    REJECTABLE_STATES,
    UNDECIDED_CODES,
    ConnectionPlan,
    closed_words,
)
from bot.reconcile.report import PassReport, aws_failed
from bot.reconcile.units import Unit, UnitOutcome
from bot.services import connection_requests
from bot.services.connection_requests import OpenRequest, RequestOutcome
from bot.storage.db import read_only

HELD = "a private endpoint's wizard now holds it, so it is verified and accepted there."


@dataclass
class RequestPlan:
    """The AWS calls a unit's requests need (by vpce id), and the steps that need none."""

    accept: dict[str, OpenRequest] = field(default_factory=dict)
    reject: dict[str, OpenRequest] = field(default_factory=dict)
    outcomes: list[RequestOutcome] = field(default_factory=list)


def recorded(
    *,
    sessions: sessionmaker[Session],
    units: Sequence[Unit],
    plans: Mapping[int, ConnectionPlan],
) -> Sequence[OpenRequest]:
    """The requests recorded on these services: the open ones, and any of the vpce ids the
    connection plans found unknown (one read-only query)."""
    if not units:
        return []
    unknown = [c.vpce_id for u in units for c in plans[u.service.id].unknown]
    with sessions() as session:
        read_only(session)
        return connection_requests.list_for_services(
            session=session, service_ids=[u.service.id for u in units], vpce_ids=unknown
        )


def plan_requests(
    *,
    units: Sequence[Unit],
    plans: Mapping[int, ConnectionPlan],
    connections: Mapping[str, ConnectionInfo] | None,
    held: Mapping[int, Set[str]],
    found: Sequence[OpenRequest],
) -> dict[int, RequestPlan]:
    """What the requests on these active services need, by service, from the requests
    `recorded` found; unknown requests that are recorded already are taken out of `plans`
    (each is announced once). `held`: by service, the vpce ids its own wizards hold."""
    if connections is None or not units:
        return {}
    by_service: dict[int, list[OpenRequest]] = defaultdict(list)
    for request in found:
        by_service[request.service_id].append(request)
    planned: dict[int, RequestPlan] = {}
    for unit in units:
        recorded = by_service[unit.service.id]
        known = {r.vpce_id for r in recorded}
        connection_plan = plans[unit.service.id]
        connection_plan.unknown = [c for c in connection_plan.unknown if c.vpce_id not in known]
        planned[unit.service.id] = _plan_unit(
            unit,
            [r for r in recorded if r.status in OPEN_STATUSES],
            connections,
            held.get(unit.service.id, frozenset()),
        )
    return planned


def _plan_unit(
    unit: Unit,
    recorded: Sequence[OpenRequest],
    connections: Mapping[str, ConnectionInfo],
    held: Set[str],
) -> RequestPlan:
    out = RequestPlan()
    for request in recorded:
        found = connections.get(request.vpce_id)
        state = found.state if found and found.service_id == unit.service.aws_service_id else None
        if request.vpce_id in held:
            out.outcomes.append(_gone(request, HELD))
            continue
        match request.status:
            case RequestStatus.PENDING if state == ConnectionState.PENDING_ACCEPTANCE:
                continue  # waiting for an owner
            case RequestStatus.ACCEPT_REQUESTED if state == ConnectionState.PENDING_ACCEPTANCE:
                out.accept[request.vpce_id] = request
            case RequestStatus.ACCEPT_REQUESTED if state in ACCEPTED_STATES:
                out.outcomes.append(_step(request, RequestEvent.AWS_ACCEPTED))  # rerun after crash
            case RequestStatus.REJECT_REQUESTED if state in REJECTABLE_STATES:
                out.reject[request.vpce_id] = request
            case RequestStatus.REJECT_REQUESTED if state == ConnectionState.REJECTED:
                out.outcomes.append(_step(request, RequestEvent.AWS_REJECTED))  # rerun after crash
            case _:
                out.outcomes.append(_gone(request, _left(state)))
    return out


def _left(state: str | None) -> str:
    """Why a request is no longer pending, from its connection's state on AWS."""
    if state is None:
        return "AWS no longer lists it (the endpoint was deleted)."
    if state in ACCEPTED_STATES:
        return f"AWS reports it {state}: it was accepted outside the bot."
    if state == ConnectionState.REJECTED:
        return "it was rejected outside the bot."
    return f"its connection is {closed_words(state)}."


def _step(request: OpenRequest, event: RequestEvent, detail: str | None = None) -> RequestOutcome:
    return RequestOutcome(request.id, request.status, event, detail)


def _gone(request: OpenRequest, reason: str) -> RequestOutcome:
    return _step(request, RequestEvent.GONE, reason)


def mutate(
    *,
    gateway: PrivateLinkGateway,
    unit: Unit,
    planned: RequestPlan | None,
    outcome: UnitOutcome,
    report: PassReport,
) -> None:
    """Carry out the owners' decisions on AWS and add every step to `outcome`."""
    service_id = unit.service.aws_service_id
    if planned is None or service_id is None:
        return
    outcome.requests += planned.outcomes
    if planned.accept:
        outcome.requests += _decide(
            gateway.accept_connections,
            "accept_connections",
            RequestEvent.AWS_ACCEPTED,
            unit,
            service_id,
            planned.accept,
            report,
        )
    if planned.reject:
        outcome.requests += _decide(
            gateway.reject_connections,
            "reject_connections",
            RequestEvent.AWS_REJECTED,
            unit,
            service_id,
            planned.reject,
            report,
        )


def _decide(
    call: Callable[..., list[ConnectionFailure]],
    step: str,
    done: RequestEvent,
    unit: Unit,
    service_id: str,
    wanted: dict[str, OpenRequest],
    report: PassReport,
) -> list[RequestOutcome]:
    """One accept or reject call for the service's decided requests; what each led to."""
    try:
        failures = call(service_id=service_id, vpce_ids=list(wanted))
    except AwsError as error:
        aws_failed(report=report, step=step, unit=unit, error=error)
        if error.retryable:
            return []
        return [_step(r, RequestEvent.AWS_REFUSED, str(error)) for r in wanted.values()]
    refused = {f.vpce_id: f for f in failures}
    outcomes = []
    for vpce_id, request in wanted.items():
        failure = refused.get(vpce_id)
        if failure is None:
            if done is RequestEvent.AWS_ACCEPTED:
                report.accepted += 1
            else:
                report.rejected += 1
            outcomes.append(_step(request, done))
        elif failure.code.endswith("NotFound"):
            outcomes.append(_gone(request, _left(None)))
        elif failure.code not in UNDECIDED_CODES:  # changed since read: the next pass sees it
            aws_failed(report=report, step=step, unit=unit, error=failure.error)
            outcomes.append(_step(request, RequestEvent.AWS_REFUSED, str(failure.error)))
    return outcomes
