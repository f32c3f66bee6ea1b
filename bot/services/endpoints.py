"""Reading a project's endpoints: list, connect, billing, the Private Endpoint page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.domain import billing, entities, rules
from bot.domain.connection import ConnectionString, connection_strings
from bot.domain.dns import is_verified
from bot.domain.errors import NotFound
from bot.domain.states import Action, EndpointStatus
from bot.storage import orm, repository


@dataclass(frozen=True, slots=True)
class EndpointRow:
    """One private endpoint with what a listing shows about its cluster."""

    endpoint: entities.PrivateEndpoint
    cluster: entities.Cluster
    created_at: datetime
    can_edit: bool
    can_terminate: bool


def rows(*, session: Session, project_ids: Sequence[int]) -> dict[int, list[EndpointRow]]:
    """The live endpoints of several projects, keyed by project, in two queries."""
    endpoints = repository.list_endpoints_of_projects(session=session, project_ids=project_ids)
    clusters = repository.map_clusters(
        session=session, cluster_ids=sorted({e.cluster_id for e in endpoints})
    )
    result: dict[int, list[EndpointRow]] = {pid: [] for pid in project_ids}
    for endpoint in endpoints:
        domain = endpoint.to_domain()
        result[endpoint.project_id].append(
            EndpointRow(
                endpoint=domain,
                cluster=clusters[endpoint.cluster_id].to_domain(),
                created_at=endpoint.created_at,
                can_edit=rules.can_edit(domain),
                can_terminate=rules.can_terminate(domain),
            )
        )
    return result


def list_rows(*, session: Session, project: orm.Project, user_id: str) -> list[EndpointRow]:
    """`/private-endpoint list`: every live endpoint of the project."""
    rules.authorize(project.to_domain(), user_id, Action.LIST)
    return rows(session=session, project_ids=[project.id])[project.id]


@dataclass(frozen=True, slots=True)
class Connect:
    cluster: entities.Cluster
    strings: list[ConnectionString]
    dns_verified: bool | None = None  # whether the host resolves (None: not known yet)


def connect(
    *, session: Session, project: orm.Project, user_id: str, cluster_name: str | None
) -> Connect:
    """Connection strings of a cluster with an active private endpoint, or why there are none."""
    rules.authorize(project.to_domain(), user_id, Action.CONNECT)
    active = [
        r
        for r in list_rows(session=session, project=project, user_id=user_id)
        if r.endpoint.status is EndpointStatus.ACTIVE
    ]
    if cluster_name:
        named = repository.get_cluster_by_name(
            session=session, project_id=project.id, name=cluster_name
        )
        if named is None:
            raise NotFound(f"There is no cluster named {cluster_name!r} in {project.name}.")
        active = [r for r in active if r.cluster.id == named.id]
        if not active:
            raise NotFound(
                f"{cluster_name} has no active private endpoint yet: create one with "
                f"`/private-endpoint create {cluster_name}`."
            )
    if not active:
        raise NotFound(
            f"No cluster in {project.name} has an active private endpoint yet: "
            "create one with `/private-endpoint create`."
        )
    cluster = active[0].cluster
    assert cluster.private_dns_host is not None
    service = repository.get_service_by_cluster(session=session, cluster_id=cluster.id)
    return Connect(
        cluster=cluster,
        strings=connection_strings(host=cluster.private_dns_host, port=cluster.port),
        dns_verified=is_verified(service.dns_state) if service is not None else None,
    )


def estimate(*, session: Session, project: orm.Project, user_id: str) -> billing.BillingEstimate:
    """The project's monthly estimate for its billable endpoints."""
    rules.authorize(project.to_domain(), user_id, Action.BILLING)
    billable = [
        r.endpoint
        for r in list_rows(session=session, project=project, user_id=user_id)
        if r.endpoint.status in billing.BILLABLE_STATUSES
    ]
    return billing.estimate(max(1, len(e.subnet_ids)) for e in billable)
