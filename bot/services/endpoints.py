"""Reading a project's endpoints: list, status, connect, billing, the Private Endpoint page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from bot.domain import billing, entities, rules
from bot.domain.connection import ConnectionString, connection_strings
from bot.domain.dns_verification import is_verified
from bot.domain.errors import NotFound
from bot.domain.states import Action
from bot.storage import cluster_queries, endpoint_queries, orm
from bot.storage.project_cache import ProjectLike


@dataclass(frozen=True, slots=True)
class EndpointRow:
    """One private endpoint with what a listing shows about its cluster."""

    endpoint: entities.PrivateEndpoint
    cluster: entities.Cluster
    created_at: datetime
    can_edit: bool
    can_terminate: bool


@dataclass(frozen=True, slots=True)
class Listing:
    """A project's first endpoints, oldest first, and how many it has in all."""

    rows: list[EndpointRow]
    total: int


LIST_ROWS_MAX = 3_000  # more than a message can show: 50 blocks of 3,000 characters, lines of 55+


def _rows_of(session: Session, endpoints: Sequence[orm.PrivateEndpoint]) -> list[EndpointRow]:
    clusters = {
        cluster_id: cluster.to_domain()
        for cluster_id, cluster in cluster_queries.map_clusters(
            session=session, cluster_ids=sorted({e.cluster_id for e in endpoints})
        ).items()
    }
    found = []
    for endpoint in endpoints:
        domain = endpoint.to_domain()
        found.append(
            EndpointRow(
                endpoint=domain,
                cluster=clusters[endpoint.cluster_id],
                created_at=endpoint.created_at,
                can_edit=rules.can_edit(domain),
                can_terminate=rules.can_terminate(domain),
            )
        )
    return found


def listings(*, session: Session, project_ids: Sequence[int], limit: int) -> dict[int, Listing]:
    """The first `limit` endpoints of each project and their totals, in two queries: what a
    page costs does not grow with the projects' endpoints."""
    listed = endpoint_queries.list_rows_of_projects(
        session=session, project_ids=project_ids, per_project=limit
    )
    totals = endpoint_queries.count_endpoints_of_projects(session=session, project_ids=project_ids)
    shown: dict[int, list[EndpointRow]] = {pid: [] for pid in project_ids}
    for endpoint, cluster, created_at in listed:
        shown[endpoint.project_id].append(
            EndpointRow(
                endpoint=endpoint,
                cluster=cluster,
                created_at=created_at,
                can_edit=rules.can_edit(endpoint),
                can_terminate=rules.can_terminate(endpoint),
            )
        )
    # (rows and counts are two reads: a row created between them still counts)
    return {
        pid: Listing(rows=shown[pid], total=max(totals[pid], len(shown[pid])))
        for pid in project_ids
    }


def list_rows(
    *, session: Session, project: ProjectLike, user_id: str, limit: int = LIST_ROWS_MAX
) -> Listing:
    """`/private-endpoint list`: the project's endpoints, the first `limit` of them."""
    rules.authorize(project.to_domain(), user_id, Action.LIST)
    return listings(session=session, project_ids=[project.id], limit=limit)[project.id]


def find_in_project(
    *, session: Session, project: ProjectLike, user_id: str, endpoint_id: int
) -> orm.PrivateEndpoint:
    """One endpoint of the project, or NotFound (an id of another project is not found)."""
    rules.authorize(project.to_domain(), user_id, Action.LIST)
    endpoint = endpoint_queries.get_endpoint(session=session, endpoint_id=endpoint_id)
    if endpoint is None or endpoint.project_id != project.id:
        raise NotFound(
            f"There is no private endpoint #{endpoint_id} in {project.name}; see "
            "`/private-endpoint list`."
        )
    return endpoint


def get_row(
    *, session: Session, project: ProjectLike, user_id: str, endpoint_id: int
) -> EndpointRow:
    """One endpoint of the project, as a listing shows it."""
    endpoint = find_in_project(
        session=session, project=project, user_id=user_id, endpoint_id=endpoint_id
    )
    (row,) = _rows_of(session, [endpoint])
    return row


@dataclass(frozen=True, slots=True)
class Status:
    """One endpoint as `status` shows it: its row, and since when it has had its status."""

    row: EndpointRow
    since: datetime


def get_status(*, session: Session, project: ProjectLike, user_id: str, endpoint_id: int) -> Status:
    """`/private-endpoint status <id>`: one endpoint of the project, for owners and members."""
    endpoint = find_in_project(
        session=session, project=project, user_id=user_id, endpoint_id=endpoint_id
    )
    (row,) = _rows_of(session, [endpoint])
    return Status(row=row, since=endpoint.status_changed_at)


@dataclass(frozen=True, slots=True)
class Connect:
    cluster: entities.Cluster
    strings: list[ConnectionString]
    dns_verified: bool | None = None  # whether the host resolves (None: not known yet)


def connect(
    *, session: Session, project: ProjectLike, user_id: str, cluster_name: str | None
) -> Connect:
    """Connection strings of a cluster with an active private endpoint, or why there are none."""
    rules.authorize(project.to_domain(), user_id, Action.CONNECT)
    found = cluster_queries.first_connectable(
        session=session, project_id=project.id, cluster_name=cluster_name
    )
    if found is None and cluster_name:
        if not cluster_queries.has_cluster_named(
            session=session, project_id=project.id, name=cluster_name
        ):
            raise NotFound(f"There is no cluster named {cluster_name!r} in {project.name}.")
        raise NotFound(
            f"{cluster_name} has no active private endpoint yet: create one with "
            f"`/private-endpoint create {cluster_name}`."
        )
    if found is None:
        raise NotFound(
            f"No cluster in {project.name} has an active private endpoint yet: "
            "create one with `/private-endpoint create`."
        )
    cluster, dns_state, has_service = found
    assert cluster.private_dns_host is not None
    return Connect(
        cluster=cluster,
        strings=connection_strings(host=cluster.private_dns_host, port=cluster.port),
        dns_verified=is_verified(dns_state) if has_service else None,
    )


def estimate(*, session: Session, project: ProjectLike, user_id: str) -> billing.BillingEstimate:
    """The project's monthly estimate for its billable endpoints."""
    rules.authorize(project.to_domain(), user_id, Action.BILLING)
    subnets = endpoint_queries.subnet_ids_of_project(
        session=session, project_id=project.id, statuses=billing.BILLABLE_STATUSES
    )
    return billing.estimate(max(1, len(s)) for s in subnets)
