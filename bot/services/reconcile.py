"""What the reconcile worker knows and decides about a unit of work (an endpoint service with
its cluster and endpoints), and the loading of claimed units in a fixed number of queries,
whatever the number of endpoints. Saving an outcome is `bot.worker.reconcile_save`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from bot.domain import entities
from bot.domain.dns import DnsOutcome
from bot.domain.states import ClusterStatus, EndpointStatus, ServiceStatus, Stage
from bot.domain.transitions import EndpointEvent, ServiceEvent
from bot.services.requests import RequestOutcome
from bot.storage import orm, repository


@dataclass(frozen=True, slots=True)
class EndpointSnapshot:
    """What the worker reads of a private endpoint."""

    id: int
    status: EndpointStatus
    stage: Stage
    account_id: str | None
    vpce_id: str | None
    suggested_vpce_id: str | None
    view_id: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Unit:
    """A claimed endpoint service with its cluster, project and endpoints: one unit of work."""

    service: entities.EndpointService
    allowed_accounts: frozenset[str]
    client_token: str  # the ClientToken of the service's current creation attempt
    cluster: entities.Cluster
    project: entities.Project
    endpoints: tuple[EndpointSnapshot, ...]

    @property
    def dropping(self) -> bool:
        """Whether the cluster was dropped: everything goes, on AWS and here."""
        return (
            self.cluster.status is ClusterStatus.DELETING
            or self.service.status is ServiceStatus.DELETING
        )


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """What AWS says the endpoint service is."""

    aws_service_id: str
    service_name: str
    az_ids: tuple[str, ...]
    private_dns_name: str | None


@dataclass(frozen=True, slots=True)
class EndpointOutcome:
    """One change to an endpoint, made only if it is still as the worker saw it."""

    endpoint_id: int
    expect_status: EndpointStatus
    expect_vpce_id: str | None
    event: EndpointEvent | None = None
    stage: Stage | None = None
    reason: str | None = None
    set_suggestion: bool = False
    suggestion: str | None = None


@dataclass(frozen=True, slots=True)
class UnknownConnection:
    """A connection request on one of the project's services that no endpoint expects."""

    aws_service_id: str
    service_name: str | None
    vpce_id: str
    owner_account: str


@dataclass
class UnitOutcome:
    """Everything one pass changes about a unit, saved together."""

    facts: ServiceFacts | None = None
    service_event: ServiceEvent | None = None
    service_reason: str | None = None
    allowed_accounts: frozenset[str] | None = None
    endpoints: list[EndpointOutcome] = field(default_factory=list)
    unknown: list[UnknownConnection] = field(default_factory=list)
    requests: list[RequestOutcome] = field(default_factory=list)
    dns: DnsOutcome | None = None  # see bot.worker.reconcile_dns
    drop: bool = False

    @property
    def empty(self) -> bool:
        """Whether there is nothing to save."""
        return not (
            self.facts
            or self.service_event
            or self.allowed_accounts is not None
            or self.endpoints
            or self.unknown
            or self.requests
            or self.dns is not None
            or self.drop
        )


def move(
    *, endpoint: EndpointSnapshot, event: EndpointEvent, stage: Stage | None = None
) -> EndpointOutcome:
    """`event` for an endpoint still as the worker saw it."""
    return EndpointOutcome(endpoint.id, endpoint.status, endpoint.vpce_id, event, stage)


def fail(*, endpoint: EndpointSnapshot, reason: str, stage: Stage) -> EndpointOutcome:
    """The endpoint failed for `reason`; Retry resumes at `stage`."""
    return EndpointOutcome(
        endpoint.id,
        endpoint.status,
        endpoint.vpce_id,
        EndpointEvent.STEP_FAILED,
        stage,
        reason,
    )


def accepted(*, endpoint: EndpointSnapshot) -> EndpointOutcome:
    """AWS accepted the endpoint's connection: on to Enable Private DNS."""
    return move(
        endpoint=endpoint, event=EndpointEvent.CONNECTION_ACCEPTED, stage=Stage.ENABLE_PRIVATE_DNS
    )


def removed(*, endpoint: EndpointSnapshot) -> EndpointOutcome:
    """Nothing of the endpoint is left on AWS: the row goes."""
    return move(endpoint=endpoint, event=EndpointEvent.REMOVED)


def suggest(*, endpoint: EndpointSnapshot, vpce_id: str | None) -> EndpointOutcome:
    """Offer `vpce_id` (or nothing) as the endpoint's VPC endpoint."""
    return EndpointOutcome(
        endpoint.id, endpoint.status, endpoint.vpce_id, set_suggestion=True, suggestion=vpce_id
    )


def _snapshot(row: orm.PrivateEndpoint) -> EndpointSnapshot:
    return EndpointSnapshot(
        id=row.id,
        status=row.status,
        stage=row.stage,
        account_id=row.account_id,
        vpce_id=row.vpce_id,
        suggested_vpce_id=row.suggested_vpce_id,
        view_id=row.view_id,
        updated_at=row.updated_at,
    )


def unit_of(
    *,
    service: orm.EndpointService,
    cluster: orm.Cluster,
    project: entities.Project,
    endpoints: Sequence[orm.PrivateEndpoint],
) -> Unit:
    """A unit from its rows."""
    return Unit(
        service=service.to_domain(),
        allowed_accounts=frozenset(service.allowed_accounts),
        client_token=service.client_token,
        cluster=cluster.to_domain(),
        project=project,
        endpoints=tuple(_snapshot(row) for row in endpoints),
    )


def load_units(*, session: Session, worker_id: str, service_ids: Sequence[int]) -> list[Unit]:
    """The claimed services with everything the worker needs, in five queries whatever N."""
    if not service_ids:
        return []
    service_rows = session.scalars(
        select(orm.EndpointService)
        .where(orm.EndpointService.id.in_(service_ids))
        .where(orm.EndpointService.claimed_by == worker_id)
        .order_by(orm.EndpointService.id)
    ).all()
    cluster_ids = sorted({s.cluster_id for s in service_rows})
    clusters = repository.map_clusters(session=session, cluster_ids=cluster_ids)
    project_ids = sorted({c.project_id for c in clusters.values()})
    projects = {
        p.id: p.to_domain()
        for p in session.scalars(select(orm.Project).where(orm.Project.id.in_(project_ids)))
    }
    endpoints: dict[int, list[orm.PrivateEndpoint]] = {cid: [] for cid in cluster_ids}
    if cluster_ids:
        query = (
            select(orm.PrivateEndpoint)
            .where(orm.PrivateEndpoint.cluster_id.in_(cluster_ids))
            .order_by(orm.PrivateEndpoint.id)
        )
        for row in session.scalars(query):
            endpoints[row.cluster_id].append(row)
    return [
        unit_of(
            service=s,
            cluster=clusters[s.cluster_id],
            project=projects[clusters[s.cluster_id].project_id],
            endpoints=endpoints[s.cluster_id],
        )
        for s in service_rows
    ]


def forget_views(*, session: Session, views: Sequence[tuple[int, str]]) -> None:
    """Clear `view_id` on endpoints whose modal is closed, unless a newer one was opened."""
    if not views:
        return
    table = cast(Table, orm.PrivateEndpoint.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("endpoint"), table.c.view_id == bindparam("view"))
        .values(view_id=None)
    )
    session.connection().execute(statement, [{"endpoint": e, "view": v} for e, v in views])
