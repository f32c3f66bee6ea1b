"""The endpoint service in a reconcile pass: what AWS's answer means (plan), creating, reading,
discarding and deleting it (AWS calls), and its facts and status (save).

An `AwsError` that is `retryable` (throttling, AWS-side failures, no connection) leaves the
state as it is for a later pass; a definitive one fails the service and the endpoints waiting
for it, with the error's plain message. Reads are batched per region (one call per page).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from bot.aws.privatelink import PrivateLinkGateway, ServiceInfo
from bot.domain.errors import AwsError
from bot.domain.states import EndpointStatus, ServiceStatus, Stage
from bot.domain.transitions import ServiceEvent
from bot.reconcile import dns_verification
from bot.reconcile.report import PassReport, Transition, aws_failed
from bot.reconcile.units import ServiceFacts, Unit, UnitOutcome, fail
from bot.services import endpoint_services
from bot.services.endpoint_services import SERVICE_SUBJECT
from bot.storage import event_log, orm

WAITING_STATUSES = frozenset({EndpointStatus.NOT_CONFIGURED, EndpointStatus.INITIATING})
GONE_STATES = frozenset({"Deleting", "Deleted"})
FAILED_STATE = "Failed"

# --- plan -------------------------------------------------------------------------------------


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
    if info is None or info.state in GONE_STATES:
        return service_failed(
            unit=unit,
            reason=f"The endpoint service {service_id} was deleted on AWS outside the bot.",
        )
    facts = facts_of(info=info)
    if info.state == FAILED_STATE:
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


# --- AWS calls --------------------------------------------------------------------------------


def create(*, gateway: PrivateLinkGateway, unit: Unit, report: PassReport) -> UnitOutcome | None:
    """Create the cluster's endpoint service (or find the one created before); None: retry."""
    cluster = unit.cluster
    if not cluster.nlb_arn:
        return service_failed(
            unit=unit,
            reason=f"Cluster {cluster.name} has no network load balancer ARN; set its nlb_arn.",
        )
    try:
        info = gateway.ensure_service(
            cluster_id=str(cluster.id),
            cluster_name=cluster.name,
            nlb_arn=cluster.nlb_arn,
            client_token=unit.client_token,
            private_dns_name=unit.service.private_dns_name,
        )
    except AwsError as error:
        aws_failed(report=report, step="ensure_service", unit=unit, error=error)
        return None if error.retryable else service_failed(unit=unit, reason=str(error))
    report.services_created += 1
    outcome = service_outcome(unit=unit, info=info)
    outcome.facts = facts_of(info=info)
    discard_failed(gateway=gateway, unit=unit, outcome=outcome, report=report)
    return outcome


def discard_failed(
    *, gateway: PrivateLinkGateway, unit: Unit, outcome: UnitOutcome, report: PassReport
) -> None:
    """Delete a service AWS reports Failed, so that nothing is left of it on AWS (a retry
    creates a new one under its next attempt's ClientToken); the failure is recorded either
    way."""
    if outcome.service_event is not ServiceEvent.AWS_FAILED or outcome.facts is None:
        return
    try:
        gateway.delete_service(service_id=outcome.facts.aws_service_id)
    except AwsError as error:
        aws_failed(report=report, step="delete_service", unit=unit, error=error)
        return
    report.services_deleted += 1


def drop(*, gateway: PrivateLinkGateway, unit: Unit, report: PassReport) -> UnitOutcome | None:
    """Reject every connection and delete the service on AWS; None: try again later."""
    try:
        service_id = unit.service.aws_service_id
        if service_id is None:  # a crash may have come between creating it and saving its id
            found = gateway.find_service(cluster_id=str(unit.cluster.id))
            service_id = found.service_id if found else None
        if service_id is not None:
            gateway.delete_service(service_id=service_id)
            report.services_deleted += 1
    except AwsError as error:
        aws_failed(report=report, step="delete_service", unit=unit, error=error)
        return None
    return UnitOutcome(drop=True)


def read_services(
    *, gateway: PrivateLinkGateway, units: Sequence[Unit], report: PassReport
) -> dict[str, ServiceInfo] | None:
    """The services of `units` as AWS reports them, by id; None if AWS could not say."""
    ids = [u.service.aws_service_id for u in units if u.service.aws_service_id]
    if not ids:
        return {}
    try:
        return {info.service_id: info for info in gateway.list_services(service_ids=ids)}
    except AwsError as error:
        aws_failed(
            report=report, step="list_services", unit=None, error=error, region=gateway.region
        )
        return None


# --- save -------------------------------------------------------------------------------------


def save(
    *,
    session: Session,
    cluster: orm.Cluster,
    service: orm.EndpointService,
    outcome: UnitOutcome,
    transitions: list[Transition],
) -> bool:
    """Save what the pass learnt of the service (its row is locked); whether it became
    active."""
    facts = outcome.facts
    if facts is not None:
        if service.aws_service_id != facts.aws_service_id:
            dns_verification.forget(service=service)  # a new service: its DNS name anew
        service.aws_service_id = facts.aws_service_id
        service.service_name = facts.service_name
        service.az_ids = list(facts.az_ids)
        service.private_dns_name = facts.private_dns_name or service.private_dns_name
    event = outcome.service_event
    if event is None or service.status is not ServiceStatus.CREATING:
        return False
    move(session, cluster, service, event, outcome.service_reason, transitions)
    if event is ServiceEvent.AWS_FAILED:
        service.failure_reason = outcome.service_reason
    return event is ServiceEvent.AWS_AVAILABLE


def move(
    session: Session,
    cluster: orm.Cluster,
    service: orm.EndpointService,
    event: ServiceEvent,
    detail: str | None,
    transitions: list[Transition],
) -> None:
    """Move the service by `event` (audit event and all), noting the transition."""
    from_status = service.status
    to_status = endpoint_services.apply(
        session=session,
        cluster=cluster,
        service=service,
        event=event,
        actor=event_log.SYSTEM_ACTOR,
        detail=detail,
    )
    transitions.append(
        Transition(SERVICE_SUBJECT, service.id, event, from_status, to_status, detail)
    )
