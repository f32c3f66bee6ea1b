"""Private DNS verification in a reconcile pass (see `bot.domain.dns_verification`): plan, AWS
call, save.

Which services' private DNS state the pass reads (in its one batched read of services, so
the cost is pages, not services): every live one whose name is not verified yet (a check may
be started outside the bot, in the AWS console), and any with a Verify now request; `creating`
services are read anyway. What AWS's answer means, and the Verify now requests to start on AWS
(`start_vpc_endpoint_service_private_dns_verification`). Saving the outcome, in the unit's
transaction and under its row lock: the state, and one owners' notice per change of state, so
nothing is told twice across passes or replicas.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence, Set
from dataclasses import replace

from sqlalchemy.orm import Session

from bot.aws.privatelink import PrivateLinkGateway, ServiceInfo
from bot.domain.dns_verification import (
    DnsChange,
    DnsOutcome,
    DnsState,
    dns_transition,
    verification_failed,
)
from bot.domain.errors import AwsError
from bot.domain.states import ServiceStatus
from bot.reconcile.report import PassReport, aws_failed
from bot.reconcile.units import Unit, UnitOutcome, effective_status
from bot.services import dns_verification
from bot.services.endpoint_services import SERVICE_SUBJECT
from bot.storage import event_log, orm

log = logging.getLogger("bot.worker.reconciler")

LIVE_STATUSES = frozenset({ServiceStatus.CREATING, ServiceStatus.ACTIVE})


def watched(*, units: Sequence[Unit], fresh: Set[int]) -> list[Unit]:
    """The units whose private DNS state this pass reads (not those created just now: their
    state comes with the next pass's read)."""
    return [
        u
        for u in units
        if u.service.aws_service_id
        and u.service.private_dns_name
        and u.service.status in LIVE_STATUSES
        and (
            u.service.dns_state != DnsState.VERIFIED
            or u.service.dns_verify_requested_at is not None
        )
        and u.service.id not in fresh
        and not u.dropping
    ]


def seen(*, unit: Unit, info: ServiceInfo | None) -> DnsOutcome | None:
    """What AWS's answer says of the unit's private DNS name (None: nothing new)."""
    service = unit.service
    if info is None or info.dns_state is None:
        return None
    if dns_transition(service.dns_state, info.dns_state).state == service.dns_state:
        return None
    reason = None
    if info.dns_state == DnsState.FAILED:
        reason = verification_failed(
            domain=info.private_dns_name or service.private_dns_name or "the domain",
            txt_name=info.dns_txt_name,
            txt_value=info.dns_txt_value,
        )
    return DnsOutcome(
        seen=info.dns_state,
        txt_name=info.dns_txt_name,
        txt_value=info.dns_txt_value,
        reason=reason,
    )


def step(
    *,
    gateway: PrivateLinkGateway,
    unit: Unit,
    info: ServiceInfo | None,
    outcome: UnitOutcome,
    report: PassReport,
) -> None:
    """Take in AWS's answer and start a requested verification; the result goes to `outcome`."""
    service = unit.service
    if unit.dropping or not service.private_dns_name:
        return
    found = seen(unit=unit, info=info)
    request = service.dns_verify_requested_at
    if request is None:
        outcome.dns = found
        return
    state = found.seen if found else service.dns_state
    active = effective_status(unit=unit, outcome=outcome) is ServiceStatus.ACTIVE
    if service.status is ServiceStatus.CREATING and not active:
        outcome.dns = found  # the request waits for the service
        return
    base = found or DnsOutcome()
    if state == DnsState.VERIFIED or not active or not service.aws_service_id:
        outcome.dns = replace(base, request=request)  # nothing to check (any more)
        return
    try:
        gateway.start_dns_verification(service_id=service.aws_service_id)
    except AwsError as error:
        aws_failed(report=report, step="start_dns_verification", unit=unit, error=error)
        if error.retryable:
            outcome.dns = found  # the request stays for the next pass
        else:
            outcome.dns = replace(base, refused=True, reason=str(error), request=request)
        return
    outcome.dns = replace(base, started=True, request=request)


def forget(*, service: orm.EndpointService) -> None:
    """A new AWS service stands behind the row (a retry): its name is read, and told, anew."""
    service.dns_state = service.dns_txt_name = service.dns_txt_value = None
    service.dns_failure_reason = service.dns_verify_requested_at = None


def save(
    *,
    session: Session,
    unit: Unit,
    service: orm.EndpointService,
    cluster: orm.Cluster,
    outcome: DnsOutcome,
) -> bool:
    """Save what the pass learnt of the name (the row is locked); whether its state changed.

    A Verify now request is cleared only if it is the one the pass handled: a newer press
    waits for the next pass."""
    if outcome.request is not None and service.dns_verify_requested_at == outcome.request:
        service.dns_verify_requested_at = None
    if outcome.txt_name is not None:
        service.dns_txt_name, service.dns_txt_value = outcome.txt_name, outcome.txt_value
    before = service.dns_state
    moved = dns_transition(before, outcome.seen, started=outcome.started, refused=outcome.refused)
    change = moved.change
    service.dns_state = moved.state
    if moved.state == DnsState.FAILED and outcome.reason:
        service.dns_failure_reason = outcome.reason
    elif moved.state == DnsState.VERIFIED:
        service.dns_failure_reason = None
    if change is None:
        return moved.state != before
    event = event_log.record_event(
        session=session,
        project_id=cluster.project_id,
        subject=SERVICE_SUBJECT,
        subject_id=service.id,
        actor=event_log.SYSTEM_ACTOR,
        action=f"dns_{change.value}",
        from_status=before,
        to_status=moved.state,
        detail=service.dns_failure_reason if change is DnsChange.FAILED else None,
    )
    if change is DnsChange.VERIFIED:
        dns_verification.refresh_endpoints(
            session=session, service=service, cluster=cluster, cause=event
        )
    started = change is DnsChange.STARTED
    dns_verification.queue_notice(
        session=session,
        service=service,
        cluster=cluster,
        project=unit.project,
        change=change,
        actor=dns_verification.requested_by(session=session, service_id=service.id)
        if started
        else None,
    )
    log.info(
        "dns service=%s %s → %s (%s)",
        service.id,
        before,
        moved.state,
        change.value,
        extra={"service": service.id, "dns_change": change.value},
    )
    return True
