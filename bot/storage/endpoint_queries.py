"""Queries and writes on private endpoints: by id, key or vpce, a project's listing and counts,
a reconcile unit's rows, modals closed, and those an alert is due for. Keyword-only; callers own
the transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Table,
    bindparam,
    func,
    literal,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session, joinedload

from bot.domain import entities
from bot.domain.states import EndpointStatus
from bot.storage.orm import (
    Cluster,
    Outbox,
    PrivateEndpoint,
    Project,
)

_endpoint = cast(Table, PrivateEndpoint.__table__)
_cluster = cast(Table, Cluster.__table__)
_ENDPOINT_COLUMNS = (
    *(_endpoint.c[name] for name in ("id", "project_id", "cluster_id", "stage", "status")),
    *(_endpoint.c[name] for name in ("created_by", "account_id", "vpc_id", "subnet_ids")),
    *(_endpoint.c[name] for name in ("vpce_id", "failure_reason", "suggested_vpce_id")),
    _endpoint.c.security_group_ids,
    _endpoint.c.created_at,
)
_CLUSTER_COLUMNS = tuple(
    _cluster.c[name]
    for name in ("project_id", "name", "tier", "cloud", "region", "status", "nlb_arn", "port")
) + (_cluster.c.private_dns_host,)
ListedRow = tuple[entities.PrivateEndpoint, entities.Cluster, datetime]
"""An endpoint, its cluster and when the endpoint was created: a line of a listing."""


def _listing_statements() -> tuple[Select[Any], Select[Any], Select[Any]]:
    """The listing's statements, built once (building one costs more than running it): the
    rows of one project, of several (a window per project), and the count of each."""
    columns = (*_ENDPOINT_COLUMNS, *_CLUSTER_COLUMNS)
    joined = _endpoint.join(_cluster, _cluster.c.id == _endpoint.c.cluster_id)
    of_projects = _endpoint.c.project_id.in_(bindparam("projects", expanding=True))
    per_project = bindparam("per_project", type_=Integer)
    of_one = select(*columns).select_from(joined).where(of_projects).limit(per_project)
    rank = func.row_number().over(partition_by=_endpoint.c.project_id, order_by=_endpoint.c.id)
    ranked = select(_endpoint.c.id, rank.label("rank")).where(of_projects).subquery()
    of_many = (
        select(*columns)
        .select_from(joined.join(ranked, ranked.c.id == _endpoint.c.id))
        .where(ranked.c.rank <= per_project)
    )
    counts = select(_endpoint.c.project_id, func.count()).where(of_projects)
    by_id = _endpoint.c.id
    return (
        of_one.order_by(by_id),
        of_many.order_by(by_id),
        counts.group_by(_endpoint.c.project_id),
    )


_ROWS_OF_PROJECT, _ROWS_OF_PROJECTS, _COUNT_OF_PROJECTS = _listing_statements()
_BY_CREATION_KEY = select(PrivateEndpoint).where(PrivateEndpoint.creation_key == bindparam("key"))
_BY_VPCE = select(PrivateEndpoint).where(PrivateEndpoint.vpce_id == bindparam("vpce"))
_IN_CONTEXT = (
    joinedload(PrivateEndpoint.project).joinedload(Project.members),
    joinedload(PrivateEndpoint.cluster),
)
_COUNT_OF_CLUSTERS = (
    select(_endpoint.c.cluster_id, func.count())
    .where(
        _endpoint.c.cluster_id.in_(bindparam("clusters", expanding=True)),
        _endpoint.c.status != EndpointStatus.DELETING,
    )
    .group_by(_endpoint.c.cluster_id)
)


def list_by_clusters(*, session: Session, cluster_ids: Sequence[int]) -> Sequence[PrivateEndpoint]:
    """The endpoints of these clusters, by id."""
    if not cluster_ids:
        return []
    query = (
        select(PrivateEndpoint)
        .where(PrivateEndpoint.cluster_id.in_(cluster_ids))
        .order_by(PrivateEndpoint.id)
    )
    return session.scalars(query).all()


def forget_views(*, session: Session, views: Sequence[tuple[int, str]]) -> None:
    """Clear `view_id` on (endpoint, view) pairs whose modal is closed, unless a newer one was
    opened since: one statement for all of them."""
    if not views:
        return
    table = cast(Table, PrivateEndpoint.__table__)
    statement = (
        update(table)
        .where(table.c.id == bindparam("endpoint"), table.c.view_id == bindparam("view"))
        .values(view_id=None)
    )
    session.connection().execute(statement, [{"endpoint": e, "view": v} for e, v in views])


def list_endpoints(
    *,
    session: Session,
    project_id: int | None = None,
    cluster_id: int | None = None,
) -> Sequence[PrivateEndpoint]:
    """Private endpoints, oldest first, of a project and/or cluster."""
    query = select(PrivateEndpoint).order_by(PrivateEndpoint.id)
    if project_id is not None:
        query = query.where(PrivateEndpoint.project_id == project_id)
    if cluster_id is not None:
        query = query.where(PrivateEndpoint.cluster_id == cluster_id)
    return session.scalars(query).all()


def count_endpoints_by_cluster(*, session: Session, cluster_ids: Sequence[int]) -> dict[int, int]:
    """How many private endpoints each cluster has that are not being deleted, in one query."""
    if not cluster_ids:
        return {}
    rows = session.connection().execute(_COUNT_OF_CLUSTERS, {"clusters": list(cluster_ids)})
    return {row[0]: row[1] for row in rows}


def delete_endpoint(*, session: Session, endpoint: PrivateEndpoint) -> None:
    """Remove a private endpoint row; its history stays in the event log."""
    session.delete(endpoint)
    session.flush()


def get_endpoint(*, session: Session, endpoint_id: int) -> PrivateEndpoint | None:
    """The private endpoint with this id."""
    return session.get(PrivateEndpoint, endpoint_id)


def get_endpoint_in_context(*, session: Session, endpoint_id: int) -> PrivateEndpoint | None:
    """The private endpoint with its project, the project's members and its cluster, in one
    query: what a wizard step checks and shows."""
    return session.get(PrivateEndpoint, endpoint_id, options=_IN_CONTEXT)


def get_endpoint_by_creation_key(*, session: Session, creation_key: str) -> PrivateEndpoint | None:
    """The private endpoint a wizard created, by the wizard's key."""
    return session.scalar(_BY_CREATION_KEY, {"key": creation_key})


def get_endpoint_by_vpce(*, session: Session, vpce_id: str) -> PrivateEndpoint | None:
    """The private endpoint holding a VPC endpoint id (until its row is removed)."""
    return session.scalar(_BY_VPCE, {"vpce": vpce_id})


def list_endpoints_of_projects(
    *, session: Session, project_ids: Sequence[int], per_project: int
) -> Sequence[PrivateEndpoint]:
    """The first `per_project` private endpoints of each project, oldest first, in one query."""
    if not project_ids:
        return []
    of_projects = PrivateEndpoint.project_id.in_(project_ids)
    if len(project_ids) == 1:  # the common case, and half the work of the window
        query = select(PrivateEndpoint).where(of_projects).limit(per_project)
    else:
        rank = func.row_number().over(
            partition_by=PrivateEndpoint.project_id, order_by=PrivateEndpoint.id
        )
        ranked = select(PrivateEndpoint.id, rank.label("rank")).where(of_projects).subquery()
        query = (
            select(PrivateEndpoint)
            .join(ranked, ranked.c.id == PrivateEndpoint.id)
            .where(ranked.c.rank <= per_project)
        )
    return session.scalars(query.order_by(PrivateEndpoint.id)).all()


def list_rows_of_projects(
    *, session: Session, project_ids: Sequence[int], per_project: int
) -> list[ListedRow]:
    """The first `per_project` private endpoints of each project, oldest first, with their
    clusters, in one Core query (no ORM objects: what list and the Home tab show)."""
    if not project_ids:
        return []
    # the common case (one project) takes half the work of the window
    query = _ROWS_OF_PROJECT if len(project_ids) == 1 else _ROWS_OF_PROJECTS
    parameters = {"projects": list(project_ids), "per_project": per_project}
    return [_listed(row) for row in session.connection().execute(query, parameters)]


def _listed(row: Sequence[Any]) -> ListedRow:
    (eid, project_id, cluster_id, stage, status, created_by, account, vpc, subnets) = row[:9]
    (vpce, reason, suggested, groups, created_at) = row[9:14]
    (owner, name, tier, cloud, region, cluster_status, nlb, port, host) = row[14:]
    endpoint = entities.PrivateEndpoint(
        id=eid,
        project_id=project_id,
        cluster_id=cluster_id,
        stage=stage,
        status=status,
        created_by=created_by,
        account_id=account,
        vpc_id=vpc,
        subnet_ids=tuple(subnets),
        vpce_id=vpce,
        failure_reason=reason,
        suggested_vpce_id=suggested,
        security_group_ids=tuple(groups or ()),
    )
    cluster = entities.Cluster(
        id=cluster_id,
        project_id=owner,
        name=name,
        tier=tier,
        cloud=cloud,
        region=region,
        status=cluster_status,
        nlb_arn=nlb,
        port=port,
        private_dns_host=host,
    )
    return endpoint, cluster, created_at


def first_endpoint(
    *, session: Session, project_id: int, status: EndpointStatus, cluster_id: int | None = None
) -> PrivateEndpoint | None:
    """The project's oldest private endpoint in `status` (on one cluster, when given)."""
    query = select(PrivateEndpoint).where(
        PrivateEndpoint.project_id == project_id, PrivateEndpoint.status == status
    )
    if cluster_id is not None:
        query = query.where(PrivateEndpoint.cluster_id == cluster_id)
    return session.scalar(query.order_by(PrivateEndpoint.id).limit(1))


def count_endpoints_of_projects(*, session: Session, project_ids: Sequence[int]) -> dict[int, int]:
    """How many private endpoints each project has, in one query (0 for none)."""
    counts = dict.fromkeys(project_ids, 0)
    if project_ids:
        rows = session.connection().execute(_COUNT_OF_PROJECTS, {"projects": list(project_ids)})
        counts.update((project_id, count) for project_id, count in rows)
    return counts


def subnet_ids_of_project(
    *, session: Session, project_id: int, statuses: Collection[EndpointStatus]
) -> list[list[str]]:
    """The subnets of each of a project's endpoints in `statuses`, without loading the rows."""
    query = select(_endpoint.c.subnet_ids).where(
        _endpoint.c.project_id == project_id, _endpoint.c.status.in_(sorted(statuses))
    )
    return list(session.connection().execute(query).scalars())


def count_endpoints_by_status(*, session: Session) -> dict[EndpointStatus, int]:
    """How many private endpoints are in each status, in one query (absent: none)."""
    query = select(PrivateEndpoint.status, func.count()).group_by(PrivateEndpoint.status)
    return dict(session.execute(query).all())


def list_of_cluster(
    *, session: Session, cluster_id: int, status: EndpointStatus
) -> Sequence[PrivateEndpoint]:
    """The cluster's endpoints in `status`, by id."""
    query = (
        select(PrivateEndpoint)
        .where(PrivateEndpoint.cluster_id == cluster_id, PrivateEndpoint.status == status)
        .order_by(PrivateEndpoint.id)
    )
    return session.scalars(query).all()


def alert_key(*, endpoint_id: int, alert: str, status: str, change: int | None = None) -> str:
    """The outbox dedupe key of `alert` about an endpoint in `status`: one per endpoint, alert
    and status (`list_alert_due` builds the same key in SQL); of an alert about the endpoint's
    cluster, one per endpoint, alert and the cluster's `change` number."""
    if change is not None:
        return f"endpoint:{endpoint_id}:alert:{alert}:change:{change}"
    return f"endpoint:{endpoint_id}:alert:{alert}:{status}"


def _alert_key_sql(alert: str) -> ColumnElement[str]:
    key = literal("endpoint:", String).concat(sql_cast(_endpoint.c.id, String))
    return key.concat(f":alert:{alert}:").concat(sql_cast(_endpoint.c.status, String))


def list_alert_due(
    *,
    session: Session,
    cluster_ids: Sequence[int],
    alert: str,
    statuses: Collection[EndpointStatus],
    entered_before: datetime,
) -> list[int]:
    """The ids of these clusters' endpoints in one of `statuses` since before `entered_before`
    whose `alert` about that status is not queued yet (`alert_key`): one query, over the
    (status, status_changed_at) index and the outbox's unique keys, whatever the number of
    endpoints; those told already cost an index lookup, not a row."""
    if not cluster_ids or not statuses:
        return []
    queued = select(Outbox.id).where(Outbox.dedupe_key == _alert_key_sql(alert)).exists()
    query = (
        select(_endpoint.c.id)
        .where(
            _endpoint.c.status.in_(sorted(statuses)),
            _endpoint.c.status_changed_at < entered_before,
            _endpoint.c.cluster_id.in_(cluster_ids),
            ~queued,
        )
        .order_by(_endpoint.c.id)
    )
    return list(session.connection().execute(query).scalars())
