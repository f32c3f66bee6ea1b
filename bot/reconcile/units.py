"""A unit of the worker's work (an endpoint service with its cluster and endpoints), what a
pass decides about it (`UnitOutcome`), and the loading of claimed units in a fixed number of
queries, whatever the number of endpoints. Saving an outcome is `bot.reconcile.save`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot.domain import entities
from bot.domain.alerts import Alert
from bot.domain.cluster_health import HealthOutcome
from bot.domain.dns_verification import DnsOutcome
from bot.domain.states import ClusterStatus, EndpointStatus, ServiceStatus, Stage
from bot.domain.transitions import EndpointEvent, ServiceEvent
from bot.services.connection_requests import RequestOutcome
from bot.storage import cluster_queries, endpoint_queries, orm, project_queries, service_queries


@dataclass(frozen=True, slots=True)
class SeenEndpoint:
    """What the worker reads of a private endpoint."""

    id: int
    status: EndpointStatus
    status_changed_at: datetime
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
    endpoints: tuple[SeenEndpoint, ...]

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
    """One change to an endpoint, or an alert about it, made only if it is still as the worker
    saw it: in `expect_status` with `expect_vpce_id` (and since `expect_since`, when given)."""

    endpoint_id: int
    expect_status: EndpointStatus
    expect_vpce_id: str | None
    event: EndpointEvent | None = None
    stage: Stage | None = None
    reason: str | None = None
    set_suggestion: bool = False
    suggestion: str | None = None
    adopt: str | None = None  # the vpce id the endpoint takes as its own (`VPCE_ADOPTED`)
    expect_since: datetime | None = None
    alert: Alert | None = None


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
    dns: DnsOutcome | None = None  # see bot.reconcile.dns_verification
    health: HealthOutcome | None = None  # see bot.reconcile.cluster_health
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
            or self.health is not None
            or self.drop
        )


def move(
    *, endpoint: SeenEndpoint, event: EndpointEvent, stage: Stage | None = None
) -> EndpointOutcome:
    """`event` for an endpoint still as the worker saw it."""
    return EndpointOutcome(endpoint.id, endpoint.status, endpoint.vpce_id, event, stage)


def fail(*, endpoint: SeenEndpoint, reason: str, stage: Stage) -> EndpointOutcome:
    """The endpoint failed for `reason`; Retry resumes at `stage`."""
    return EndpointOutcome(
        endpoint.id,
        endpoint.status,
        endpoint.vpce_id,
        EndpointEvent.STEP_FAILED,
        stage,
        reason,
    )


def accepted(*, endpoint: SeenEndpoint) -> EndpointOutcome:
    """AWS accepted the endpoint's connection: on to Enable Private DNS, or, for an endpoint
    the user's block made (adopted, already `done`: the block turns private DNS on itself),
    on to Active once AWS reports it available."""
    stage = Stage.DONE if endpoint.stage is Stage.DONE else Stage.ENABLE_PRIVATE_DNS
    return move(endpoint=endpoint, event=EndpointEvent.CONNECTION_ACCEPTED, stage=stage)


def removed(*, endpoint: SeenEndpoint, seen: str | None = None) -> EndpointOutcome:
    """Nothing of the endpoint is left on AWS: the row goes; `seen` says what AWS reported of
    the user's endpoint (the thread's line shows it)."""
    return EndpointOutcome(
        endpoint.id, endpoint.status, endpoint.vpce_id, EndpointEvent.REMOVED, reason=seen
    )


def suggest(*, endpoint: SeenEndpoint, vpce_id: str | None) -> EndpointOutcome:
    """Offer `vpce_id` (or nothing) as the endpoint's VPC endpoint."""
    return EndpointOutcome(
        endpoint.id, endpoint.status, endpoint.vpce_id, set_suggestion=True, suggestion=vpce_id
    )


def adopt(*, endpoint: SeenEndpoint, vpce_id: str) -> EndpointOutcome:
    """Take `vpce_id` as the endpoint's own, as if its user had pasted it: the next pass
    verifies and accepts it, and it turns Active once AWS reports it available, with no click
    (its wizard is `done`: the user's block does the rest)."""
    return EndpointOutcome(
        endpoint.id,
        endpoint.status,
        endpoint.vpce_id,
        EndpointEvent.VPCE_ADOPTED,
        stage=Stage.DONE,
        adopt=vpce_id,
    )


def alerted(*, endpoint: SeenEndpoint, alert: Alert) -> EndpointOutcome:
    """Tell `alert` about the endpoint if it is still in the status it was seen in, entered at
    the same time: never about a status it has left, even for a moment."""
    return EndpointOutcome(
        endpoint.id,
        endpoint.status,
        endpoint.vpce_id,
        expect_since=endpoint.status_changed_at,
        alert=alert,
    )


def _snapshot(row: orm.PrivateEndpoint) -> SeenEndpoint:
    return SeenEndpoint(
        id=row.id,
        status=row.status,
        status_changed_at=row.status_changed_at,
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
    service_rows = service_queries.list_claimed(
        session=session, worker_id=worker_id, service_ids=service_ids
    )
    cluster_ids = sorted({s.cluster_id for s in service_rows})
    clusters = cluster_queries.map_clusters(session=session, cluster_ids=cluster_ids)
    project_ids = sorted({c.project_id for c in clusters.values()})
    projects = {
        p.id: p.to_domain()
        for p in project_queries.list_projects_by_id(session=session, ids=project_ids)
    }
    rows: dict[int, list[orm.PrivateEndpoint]] = {cid: [] for cid in cluster_ids}
    for row in endpoint_queries.list_by_clusters(session=session, cluster_ids=cluster_ids):
        rows[row.cluster_id].append(row)
    return [
        unit_of(
            service=s,
            cluster=clusters[s.cluster_id],
            project=projects[clusters[s.cluster_id].project_id],
            endpoints=rows[s.cluster_id],
        )
        for s in service_rows
    ]


def region_of(unit: Unit) -> str:
    """The region a unit is worked in: its cluster's."""
    return unit.cluster.region


def held_by(unit: Unit) -> set[str]:
    """The vpce ids the unit's own wizards hold (a failed one holds none: its id was wrong, or
    its connection is lost), so that they are not offered elsewhere or asked of the owners."""
    return {
        e.vpce_id for e in unit.endpoints if e.vpce_id and e.status is not EndpointStatus.FAILED
    }


def effective_status(*, unit: Unit, outcome: UnitOutcome) -> ServiceStatus:
    """The service's status once `outcome` is saved."""
    if unit.service.status is ServiceStatus.CREATING:
        if outcome.service_event is ServiceEvent.AWS_AVAILABLE:
            return ServiceStatus.ACTIVE
        if outcome.service_event is ServiceEvent.AWS_FAILED:
            return ServiceStatus.FAILED
    return unit.service.status
