"""The one save of a unit's outcome, in one transaction under the service's row lock: each
concern's part (the service, its principals, its private DNS name), each endpoint's transition
(through `changes.apply`: audit event and outbox row), suggestions, the alerts steps raised about
endpoints (`changes.alert`), the cluster's target health and its change's alerts
(`bot.reconcile.cluster_health`), unknown connection requests
(`bot.services.connection_requests`), and a dropped cluster's removal. Each endpoint change or
alert is made only if the row is still as the worker saw it, so a rerun or a concurrent edit
never doubles one, and an alert is never told about a status the endpoint has left (an alert
comes after the unit's changes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bot.domain.states import EndpointStatus, ServiceStatus
from bot.domain.transitions import EndpointEvent, ServiceEvent
from bot.reconcile import cluster_health, dns_verification, endpoint_services, principals
from bot.reconcile.report import Transition
from bot.reconcile.units import EndpointOutcome, Unit, UnitOutcome, UnknownConnection, unit_of
from bot.services import changes, connection_requests, wizard
from bot.services.wizard import WizardState
from bot.storage import cluster_queries, endpoint_queries, event_log, orm, service_queries

CLUSTER_SUBJECT = "cluster"
DROPPED = "its cluster was dropped, so its endpoint service was deleted."
SYSTEM = event_log.SYSTEM_ACTOR


class LostClaim(Exception):
    """The service is no longer claimed by this worker (its lease ran out); nothing was saved."""


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
    alerts: int = 0


def save(*, session: Session, worker_id: str, unit: Unit, outcome: UnitOutcome) -> Saved:
    """Save a unit's outcome if this worker still holds the service; raise LostClaim if not."""
    service = service_queries.get_locked(session=session, service_id=unit.service.id)
    if service is None or service.claimed_by != worker_id:
        raise LostClaim(f"endpoint service {unit.service.id} is no longer claimed by {worker_id}")
    cluster = session.get(orm.Cluster, service.cluster_id)
    assert cluster is not None
    rows = list(endpoint_queries.list_by_clusters(session=session, cluster_ids=[cluster.id]))
    saved = Saved(unit=None)
    if outcome.drop:
        where = connection_requests.Where(
            unit.project, cluster.to_domain(), service.aws_service_id or ""
        )
        connection_requests.close_all(
            session=session, where=where, service_id=service.id, reason=DROPPED
        )
        _drop(session, cluster, service, rows, saved)
        return saved
    granted = principals.save(service=service, outcome=outcome)  # open wizards may go on
    became_active = endpoint_services.save(
        session=session,
        cluster=cluster,
        service=service,
        outcome=outcome,
        transitions=saved.transitions,
    )
    dns_moved = outcome.dns is not None and dns_verification.save(
        session=session, unit=unit, service=service, cluster=cluster, outcome=outcome.dns
    )
    changed = _save_endpoints(session, rows, outcome.endpoints, saved)
    if outcome.health is not None:  # after the endpoints: told to those Active now
        alerts, stale = cluster_health.save(
            session=session, cluster=cluster, rows=rows, outcome=outcome.health
        )
        saved.alerts, saved.stale = saved.alerts + alerts, saved.stale + stale
    where = connection_requests.Where(
        unit.project, cluster.to_domain(), service.aws_service_id or ""
    )
    for request in outcome.unknown:
        _announce(session, where, service, request, saved)
    saved.stale += connection_requests.settle(
        session=session, where=where, outcomes=outcome.requests
    )
    rows = [row for row in rows if row.status is not EndpointStatus.DELETED]
    session.flush()
    saved.unit = unit_of(service=service, cluster=cluster, project=unit.project, endpoints=rows)
    saved.modals = [
        ModalTarget(
            row.id,
            row.view_id,
            wizard.state_from(project=unit.project, cluster=cluster, service=service, row=row),
        )
        for row in rows
        if row.view_id
        and (row.id in changed or became_active or row.account_id in granted or dns_moved)
    ]
    return saved


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
        if row is None or not _as_seen(row, outcome):
            saved.stale += 1
            continue
        if outcome.set_suggestion and row.suggested_vpce_id != outcome.suggestion:
            row.suggested_vpce_id = outcome.suggestion
            saved.suggestions += 1
            changed.add(row.id)
        if outcome.alert is not None and changes.alert(
            session=session, endpoint=row, alert=outcome.alert
        ):
            saved.alerts += 1
        if outcome.event is None:
            continue
        if outcome.adopt is not None and not _free(session, outcome.adopt, row):
            saved.stale += 1
            continue
        _move_endpoint(session, row, outcome, saved)
        changed.add(row.id)
    return changed


def _free(session: Session, vpce_id: str, row: orm.PrivateEndpoint) -> bool:
    """Whether `row` may take `vpce_id`: no other endpoint holds it, or only one that failed
    with it (a wrong id pasted into another wizard), which lets it go."""
    other = endpoint_queries.get_endpoint_by_vpce(session=session, vpce_id=vpce_id)
    if other is None or other.id == row.id:
        return True
    if other.status is not EndpointStatus.FAILED:
        return False
    other.vpce_id = None
    session.flush()
    return True


def _as_seen(row: orm.PrivateEndpoint, outcome: EndpointOutcome) -> bool:
    """Whether the endpoint is as the step that planned `outcome` saw it."""
    if (row.status, row.vpce_id) != (outcome.expect_status, outcome.expect_vpce_id):
        return False
    return outcome.expect_since is None or row.status_changed_at == outcome.expect_since


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
    if outcome.adopt is not None:
        row.vpce_id, row.suggested_vpce_id = outcome.adopt, None
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
        endpoint_queries.delete_endpoint(session=session, endpoint=row)


def _announce(
    session: Session,
    where: connection_requests.Where,
    service: orm.EndpointService,
    request: UnknownConnection,
    saved: Saved,
) -> None:
    if connection_requests.announce(
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
        endpoint_services.move(
            session, cluster, service, ServiceEvent.CLUSTER_DROPPED, None, saved.transitions
        )
    endpoint_services.move(session, cluster, service, ServiceEvent.REMOVED, None, saved.transitions)
    session.delete(service)
    session.flush()
    event_log.record_event(
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
    cluster_queries.delete_cluster(session=session, cluster=cluster)
