"""Queries and writes on clusters; keyword-only, one plain verb each. Callers own the
transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

from bot.storage.orm import (
    Cluster,
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
    query = select(Cluster).where(Cluster.id == cluster_id).with_for_update()
    if project_id is not None:
        query = query.where(Cluster.project_id == project_id)
    return session.scalars(query.execution_options(populate_existing=True)).one_or_none()


def lock_cluster(*, session: Session, cluster: Cluster) -> Cluster:
    """`cluster` re-read and locked, as `get_cluster_locked` does; it must still exist."""
    locked = get_cluster_locked(session=session, cluster_id=cluster.id)
    if locked is None:
        raise NoResultFound(f"cluster {cluster.id} was deleted")
    return locked
