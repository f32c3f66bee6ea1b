"""Queries and writes on clusters; keyword-only, one plain verb each. Callers own the
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, literal, select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from bot.domain import entities
from bot.domain.states import EndpointStatus
from bot.storage.orm import Cluster, EndpointService, PrivateEndpoint

_cluster = cast(Table, Cluster.__table__)
_endpoint = cast(Table, PrivateEndpoint.__table__)
_service = cast(Table, EndpointService.__table__)
_COLUMNS = tuple(
    _cluster.c[name]
    for name in ("id", "project_id", "name", "tier", "cloud", "region", "status", "nlb_arn")
) + (_cluster.c.port, _cluster.c.private_dns_host)

# Built once: building a statement costs more than running it.
_LOCKED = (
    select(Cluster)
    .where(Cluster.id == bindparam("cluster"))
    .with_for_update()
    .execution_options(populate_existing=True)
)
_LOCKED_IN_PROJECT = _LOCKED.where(Cluster.project_id == bindparam("project"))
_OF_PROJECT = (
    select(*_COLUMNS).where(_cluster.c.project_id == bindparam("project")).order_by(_cluster.c.name)
)
_CONNECTABLE = (
    select(*_COLUMNS, _service.c.dns_state, _service.c.id)
    .select_from(
        _endpoint.join(_cluster, _cluster.c.id == _endpoint.c.cluster_id).outerjoin(
            _service, _service.c.cluster_id == _cluster.c.id
        )
    )
    .where(
        _endpoint.c.project_id == bindparam("project"),
        _endpoint.c.status == EndpointStatus.ACTIVE,
    )
    .order_by(_endpoint.c.id)
    .limit(1)
)
_CONNECTABLE_NAMED = _CONNECTABLE.where(
    _cluster.c.name == bindparam("name"), _cluster.c.project_id == bindparam("project")
)


def _domain(row: Sequence[Any]) -> entities.Cluster:
    cid, project_id, name, tier, cloud, region, status, nlb, port, host = row[:10]
    return entities.Cluster(
        id=cid,
        project_id=project_id,
        name=name,
        tier=tier,
        cloud=cloud,
        region=region,
        status=status,
        nlb_arn=nlb,
        port=port,
        private_dns_host=host,
    )


def create_cluster(*, session: Session, **values: Any) -> Cluster:
    """A new cluster row from column values."""
    cluster = Cluster(**values)
    session.add(cluster)
    session.flush()
    return cluster


def get_cluster(*, session: Session, cluster_id: int) -> Cluster | None:
    """The cluster with this id."""
    return session.get(Cluster, cluster_id)


def get_cluster_by_name(*, session: Session, project_id: int, name: str) -> Cluster | None:
    """The cluster called `name` in a project."""
    query = select(Cluster).where(Cluster.project_id == project_id, Cluster.name == name)
    return session.scalar(query)


def list_clusters_named(*, session: Session, name: str) -> Sequence[Cluster]:
    """Every cluster called `name`, whatever its project."""
    return session.scalars(select(Cluster).where(Cluster.name == name)).all()


def list_clusters(*, session: Session, project_id: int | None = None) -> Sequence[Cluster]:
    """Clusters by project and name, optionally of one project."""
    query = select(Cluster).order_by(Cluster.project_id, Cluster.name)
    if project_id is not None:
        query = query.where(Cluster.project_id == project_id)
    return session.scalars(query).all()


def delete_cluster(*, session: Session, cluster: Cluster) -> None:
    """Remove a cluster row (its service and endpoints must be gone)."""
    session.delete(cluster)
    session.flush()


def map_clusters(*, session: Session, cluster_ids: Sequence[int]) -> dict[int, Cluster]:
    """Clusters by id, in one query."""
    if not cluster_ids:
        return {}
    return {c.id: c for c in session.scalars(select(Cluster).where(Cluster.id.in_(cluster_ids)))}


def get_cluster_locked(
    *, session: Session, cluster_id: int, project_id: int | None = None
) -> Cluster | None:
    """The cluster with this id (in this project, when given), read afresh and locked for
    update (Postgres), so a drop and a new endpoint on it cannot interleave; SQLite's
    transactions already run one writer at a time."""
    if project_id is None:
        query, parameters = _LOCKED, {"cluster": cluster_id}
    else:
        query, parameters = _LOCKED_IN_PROJECT, {"cluster": cluster_id, "project": project_id}
    return session.scalars(query, parameters).one_or_none()


def lock_cluster(*, session: Session, cluster: Cluster) -> Cluster:
    """`cluster` re-read and locked, as `get_cluster_locked` does; it must still exist."""
    locked = get_cluster_locked(session=session, cluster_id=cluster.id)
    if locked is None:
        raise NoResultFound(f"cluster {cluster.id} was deleted")
    return locked


def list_project_clusters(*, session: Session, project_id: int) -> list[entities.Cluster]:
    """A project's clusters by name, as the domain sees them (Core: no ORM objects)."""
    rows = session.connection().execute(_OF_PROJECT, {"project": project_id})
    return [_domain(row) for row in rows]


def has_cluster_named(*, session: Session, project_id: int, name: str) -> bool:
    """Whether the project has a cluster called `name`."""
    query = select(literal(1)).where(_cluster.c.project_id == project_id, _cluster.c.name == name)
    return session.connection().execute(query).first() is not None


def first_connectable(
    *, session: Session, project_id: int, cluster_name: str | None
) -> tuple[entities.Cluster, str | None, bool] | None:
    """The cluster of the project's oldest active private endpoint (on the cluster named, when
    given), its service's private DNS state and whether it has a service, in one query."""
    if cluster_name:
        query, parameters = _CONNECTABLE_NAMED, {"project": project_id, "name": cluster_name}
    else:
        query, parameters = _CONNECTABLE, {"project": project_id}
    row = session.connection().execute(query, parameters).first()
    if row is None:
        return None
    return _domain(row), row[10], row[11] is not None


def mark_health_read(*, session: Session, cluster_ids: Sequence[int], at: datetime) -> None:
    """Note that the targets behind these clusters' load balancers were read `at`: one
    statement, whatever the number of clusters."""
    if not cluster_ids:
        return
    session.connection().execute(
        update(_cluster).where(_cluster.c.id.in_(sorted(cluster_ids))).values(health_read_at=at)
    )


def list_target_health(*, session: Session) -> list[tuple[int, str, int, int]]:
    """(project id, cluster name, healthy, total) of every cluster whose targets were read,
    by project and name: one query."""
    query = (
        select(
            _cluster.c.project_id,
            _cluster.c.name,
            _cluster.c.healthy_targets,
            _cluster.c.total_targets,
        )
        .where(_cluster.c.healthy_targets.is_not(None), _cluster.c.total_targets.is_not(None))
        .order_by(_cluster.c.project_id, _cluster.c.name)
    )
    return [(p, n, h, t) for p, n, h, t in session.connection().execute(query)]
