"""The reconcile worker's AWS calls, each turned into an outcome to save.

An `AwsError` that is `retryable` (throttling, AWS-side failures, no connection) leaves the
state as it is for a later pass; a definitive one fails the endpoint or service the step was
for, with the error's plain message. Reads are batched per region (one call per page).
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.aws.privatelink import ConnectionInfo, PrivateLinkGateway, ServiceInfo
from bot.domain.errors import AwsError
from bot.domain.states import ServiceStatus, Stage
from bot.domain.transitions import ServiceEvent
from bot.services import reconcile
from bot.services.reconcile import EndpointOutcome, EndpointSnapshot, Unit, UnitOutcome
from bot.worker import reconcile_plan as plan
from bot.worker.reconcile_report import PassReport, aws_failed

UNDECIDED_CODES = frozenset({"InvalidState"})
"""A connection that changed state since it was read: the next pass decides it afresh."""


def create(*, gateway: PrivateLinkGateway, unit: Unit, report: PassReport) -> UnitOutcome | None:
    """Create the cluster's endpoint service (or find the one created before); None: retry."""
    cluster = unit.cluster
    if not cluster.nlb_arn:
        return plan.service_failed(
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
        return None if error.retryable else plan.service_failed(unit=unit, reason=str(error))
    report.services_created += 1
    outcome = plan.service_outcome(unit=unit, info=info)
    outcome.facts = plan.facts_of(info=info)
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
        aws_failed(report=report, step="list_services", unit=None, error=error)
        return None


def read_connections(
    *, gateway: PrivateLinkGateway, service_ids: Sequence[str] | None, report: PassReport
) -> dict[str, ConnectionInfo] | None:
    """Connections to these services (None: to any of the provider's), by vpce id."""
    if service_ids is not None and not service_ids:
        return {}
    try:
        found = gateway.list_connections(service_ids=service_ids)
    except AwsError as error:
        aws_failed(report=report, step="list_connections", unit=None, error=error)
        return None
    return {c.vpce_id: c for c in found}


def mutate(
    *,
    gateway: PrivateLinkGateway,
    unit: Unit,
    outcome: UnitOutcome,
    connections: plan.ConnectionPlan,
    report: PassReport,
) -> None:
    """Make the unit's AWS mutations and add what they led to to `outcome`."""
    discard_failed(gateway=gateway, unit=unit, outcome=outcome, report=report)
    allow, disallow = plan.grants(unit=unit)
    active = plan.effective_status(unit=unit, outcome=outcome) is ServiceStatus.ACTIVE
    service_id = unit.service.aws_service_id
    if not active or service_id is None:
        allow = disallow = frozenset()
    granted = set(unit.allowed_accounts)
    for account in sorted(allow):
        try:
            gateway.allow_account(service_id=service_id or "", account_id=account)
        except AwsError as error:
            aws_failed(report=report, step="allow_account", unit=unit, error=error)
            if not error.retryable:
                outcome.endpoints += plan.grant_failed(
                    unit=unit, account_id=account, reason=str(error)
                )
            continue
        granted.add(account)
        report.allowed += 1
    failed = {o.endpoint_id for o in outcome.endpoints}
    to_accept = {v: e for v, e in connections.accept.items() if e.id not in failed}
    outcome.endpoints += connections.outcomes
    if service_id is not None:
        outcome.endpoints += _accept(gateway, unit, service_id, to_accept, report)
        outcome.endpoints += _reject(gateway, unit, service_id, connections.reject, report)
    for account in sorted(disallow):
        try:
            gateway.disallow_account(service_id=service_id or "", account_id=account)
        except AwsError as error:
            aws_failed(report=report, step="disallow_account", unit=unit, error=error)
            continue
        granted.discard(account)
        report.disallowed += 1
    if granted != unit.allowed_accounts:
        outcome.allowed_accounts = frozenset(granted)
    outcome.unknown += connections.unknown


def _accept(
    gateway: PrivateLinkGateway,
    unit: Unit,
    service_id: str,
    endpoints: dict[str, EndpointSnapshot],
    report: PassReport,
) -> list[EndpointOutcome]:
    if not endpoints:
        return []
    stage = Stage.ACCEPT_ENDPOINT_CONNECTION
    try:
        failures = gateway.accept_connections(service_id=service_id, vpce_ids=list(endpoints))
    except AwsError as error:
        aws_failed(report=report, step="accept_connections", unit=unit, error=error)
        if error.retryable:
            return []
        return [
            reconcile.fail(endpoint=e, reason=str(error), stage=stage) for e in endpoints.values()
        ]
    refused = {f.vpce_id: f for f in failures}
    outcomes = []
    for vpce_id, endpoint in endpoints.items():
        failure = refused.get(vpce_id)
        if failure is None:
            report.accepted += 1
            outcomes.append(reconcile.accepted(endpoint=endpoint))
        elif failure.code not in UNDECIDED_CODES:
            aws_failed(report=report, step="accept_connections", unit=unit, error=failure.error)
            outcomes.append(
                reconcile.fail(endpoint=endpoint, reason=str(failure.error), stage=stage)
            )
    return outcomes


def _reject(
    gateway: PrivateLinkGateway,
    unit: Unit,
    service_id: str,
    endpoints: dict[str, EndpointSnapshot],
    report: PassReport,
) -> list[EndpointOutcome]:
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
        if failure is None or gone:
            outcomes.append(reconcile.removed(endpoint=endpoint))
        else:
            aws_failed(report=report, step="reject_connections", unit=unit, error=failure.error)
    return outcomes
