"""Saving one unit's outcome in one transaction: the service's facts and status, each
endpoint's transition (through `changes.apply`: audit event and outbox row), suggestions,
unknown connection requests (`bot.services.requests`), and a dropped cluster's removal. Each
endpoint change is made only if the row is still as the worker saw it, so a rerun or a
concurrent edit never doubles one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain import entities
from bot.domain.states import EndpointStatus, ServiceStatus
from bot.domain.transitions import EndpointEvent, ServiceEvent
from bot.services import changes, requests, services
from bot.services.reconcile import (
    EndpointOutcome,
    Unit,
    UnitOutcome,
    UnknownConnection,
    unit_of,
)
from bot.services.services import SERVICE_SUBJECT
from bot.services.wizard import WizardState
from bot.storage import orm, repository
from bot.worker import reconcile_dns

CLUSTER_SUBJECT = "cluster"
DROPPED = "its cluster was dropped, so its endpoint service was deleted."
SYSTEM = repository.SYSTEM_ACTOR


class LostClaim(Exception):
    """The service is no longer claimed by this worker (its lease ran out); nothing was saved."""


@dataclass(frozen=True, slots=True)
class Transition:
    """A status change that was saved, for the worker's log."""

    subject: str
    subject_id: int
    event: str
    from_status: str | None
    to_status: str | None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ModalTarget:
    """An open modal to show a changed endpoint's wizard in."""

    endpoint_id: int
    view_id: str
    state: WizardState


@dataclass
class Saved:
    """What `save` did: the unit as it is now (None once dropped), its changes and modals."""

    unit: Unit | None
    transitions: list[Transition] = field(default_factory=list)
    modals: list[ModalTarget] = field(default_factory=list)
    stale: int = 0
    suggestions: int = 0
    unknown: int = 0


def save(*, session: Session, worker_id: str, unit: Unit, outcome: UnitOutcome) -> Saved:
    """Save a unit's outcome if this worker still holds the service; raise LostClaim if not."""
    service = session.scalar(
        select(orm.EndpointService)
        .where(orm.EndpointService.id == unit.service.id)
        .with_for_update()
    )
    if service is None or service.claimed_by != worker_id:
        raise LostClaim(f"endpoint service {unit.service.id} is no longer claimed by {worker_id}")
    cluster = session.get(orm.Cluster, service.cluster_id)
    assert cluster is not None
    rows = list(
        session.scalars(
            select(orm.PrivateEndpoint)
            .where(orm.PrivateEndpoint.cluster_id == cluster.id)
            .order_by(orm.PrivateEndpoint.id)
        )
    )
    saved = Saved(unit=None)
    if outcome.drop:
        where = requests.Where(unit.project, cluster.to_domain(), service.aws_service_id or "")
        requests.close_all(session=session, where=where, service_id=service.id, reason=DROPPED)
        _drop(session, cluster, service, rows, saved)
        return saved
    granted_before = set(service.allowed_accounts)
    became_active = _save_service(session, cluster, service, outcome, saved)
    dns = outcome.dns
    dns_moved = dns is not None and reconcile_dns.save(
        session=session, unit=unit, service=service, cluster=cluster, outcome=dns
    )
    granted = set(service.allowed_accounts) - granted_before  # open wizards may now go on
    changed = _save_endpoints(session, rows, outcome.endpoints, saved)
    where = requests.Where(unit.project, cluster.to_domain(), service.aws_service_id or "")
    for request in outcome.unknown:
        _announce(session, where, service, request, saved)
    saved.stale += requests.settle(session=session, where=where, outcomes=outcome.requests)
    rows = [row for row in rows if row.status is not EndpointStatus.DELETED]
    session.flush()
    saved.unit = unit_of(service=service, cluster=cluster, project=unit.project, endpoints=rows)
    saved.modals = [
        ModalTarget(row.id, row.view_id, _state(unit.project, cluster, service, row))
        for row in rows
        if row.view_id
        and (row.id in changed or became_active or row.account_id in granted or dns_moved)
    ]
    return saved


def _save_service(
    session: Session,
    cluster: orm.Cluster,
    service: orm.EndpointService,
    outcome: UnitOutcome,
    saved: Saved,
) -> bool:
    facts = outcome.facts
    if facts is not None:
        if service.aws_service_id != facts.aws_service_id:
            reconcile_dns.forget(service=service)  # a new service: its DNS name anew
        service.aws_service_id = facts.aws_service_id
        service.service_name = facts.service_name
        service.az_ids = list(facts.az_ids)
        service.private_dns_name = facts.private_dns_name or service.private_dns_name
    if outcome.allowed_accounts is not None:
        service.allowed_accounts = sorted(outcome.allowed_accounts)
    event = outcome.service_event
    if event is None or service.status is not ServiceStatus.CREATING:
        return False
    _move_service(session, cluster, service, event, outcome.service_reason, saved)
    if event is ServiceEvent.AWS_FAILED:
        service.failure_reason = outcome.service_reason
    return event is ServiceEvent.AWS_AVAILABLE


def _move_service(
    session: Session,
    cluster: orm.Cluster,
    service: orm.EndpointService,
    event: ServiceEvent,
    detail: str | None,
    saved: Saved,
) -> None:
    from_status = service.status
    to_status = services.apply(
        session=session,
        cluster=cluster,
        service=service,
        event=event,
        actor=SYSTEM,
        detail=detail,
    )
    saved.transitions.append(
        Transition(SERVICE_SUBJECT, service.id, event, from_status, to_status, detail)
    )


def _save_endpoints(
    session: Session,
    rows: Sequence[orm.PrivateEndpoint],
    outcomes: Sequence[EndpointOutcome],
    saved: Saved,
) -> set[int]:
    by_id = {row.id: row for row in rows}
    changed: set[int] = set()
    for outcome in outcomes:
        row = by_id.get(outcome.endpoint_id)
        if row is None or (row.status, row.vpce_id) != (
            outcome.expect_status,
            outcome.expect_vpce_id,
        ):
            saved.stale += 1
            continue
        if outcome.set_suggestion and row.suggested_vpce_id != outcome.suggestion:
            row.suggested_vpce_id = outcome.suggestion
            saved.suggestions += 1
            changed.add(row.id)
        if outcome.event is None:
            continue
        _move_endpoint(session, row, outcome, saved)
        changed.add(row.id)
    return changed


def _move_endpoint(
    session: Session, row: orm.PrivateEndpoint, outcome: EndpointOutcome, saved: Saved
) -> None:
    assert outcome.event is not None
    if outcome.stage is not None:
        row.stage = outcome.stage
    if outcome.reason is not None:
        row.failure_reason = outcome.reason
    if outcome.event is EndpointEvent.CONNECTION_ACCEPTED:
        row.suggested_vpce_id = None
    change = changes.apply(
        session=session, endpoint=row, event=outcome.event, actor=SYSTEM, detail=outcome.reason
    )
    saved.transitions.append(
        Transition(
            changes.ENDPOINT_SUBJECT,
            row.id,
            outcome.event,
            change.from_status,
            change.to_status,
            outcome.reason,
        )
    )
    if change.to_status is EndpointStatus.DELETED:
        repository.delete_endpoint(session=session, endpoint=row)


def _announce(
    session: Session,
    where: requests.Where,
    service: orm.EndpointService,
    request: UnknownConnection,
    saved: Saved,
) -> None:
    if requests.announce(
        session=session,
        where=where,
        service_id=service.id,
        vpce_id=request.vpce_id,
        owner_account=request.owner_account,
    ):
        saved.unknown += 1


def _drop(
    session: Session,
    cluster: orm.Cluster,
    service: orm.EndpointService,
    rows: Sequence[orm.PrivateEndpoint],
    saved: Saved,
) -> None:
    """Everything of a dropped cluster is gone from AWS: remove the rows, keep the history."""
    for row in rows:
        if row.status is not EndpointStatus.DELETING:
            changes.apply(
                session=session, endpoint=row, event=EndpointEvent.CLUSTER_DROPPED, actor=SYSTEM
            )
        outcome = EndpointOutcome(row.id, row.status, row.vpce_id, EndpointEvent.REMOVED)
        _move_endpoint(session, row, outcome, saved)
    if service.status is not ServiceStatus.DELETING:
        _move_service(session, cluster, service, ServiceEvent.CLUSTER_DROPPED, None, saved)
    _move_service(session, cluster, service, ServiceEvent.REMOVED, None, saved)
    session.delete(service)
    session.flush()
    repository.record_event(
        session=session,
        project_id=cluster.project_id,
        subject=CLUSTER_SUBJECT,
        subject_id=cluster.id,
        actor=SYSTEM,
        action="cluster_removed",
        from_status=cluster.status,
    )
    saved.transitions.append(
        Transition(CLUSTER_SUBJECT, cluster.id, "cluster_removed", cluster.status, None)
    )
    repository.delete_cluster(session=session, cluster=cluster)


def _state(
    project: entities.Project,
    cluster: orm.Cluster,
    service: orm.EndpointService,
    row: orm.PrivateEndpoint,
) -> WizardState:
    """The wizard as `wizard.state_of` builds it, from rows already loaded (no queries)."""
    return WizardState(
        project=project,
        channel_id=row.channel_id or project.channel_id,
        stage=row.stage,
        cluster=cluster.to_domain(),
        service=service.to_domain(),
        endpoint=row.to_domain(),
    )
