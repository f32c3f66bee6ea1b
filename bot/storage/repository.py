"""Queries and writes, keyword-only, one plain verb each. Callers own the transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session, joinedload

from bot.domain.states import EndpointStatus, Role
from bot.storage.orm import (
    Cluster,
    EndpointService,
    Event,
    Outbox,
    PrivateEndpoint,
    Project,
    ProjectMember,
)

SYSTEM_ACTOR = "system"


# Projects -------------------------------------------------------------------------------


def create_project(
    *, session: Session, name: str, channel_id: str, team_id: str | None, owners: Sequence[str]
) -> Project:
    """A new project bound to `channel_id`, with its named owners."""
    project = Project(name=name, channel_id=channel_id, team_id=team_id)
    project.members = [ProjectMember(user_id=user, role=Role.OWNER) for user in owners]
    session.add(project)
    session.flush()
    return project


def get_project_by_name(*, session: Session, name: str) -> Project | None:
    """The project called `name`."""
    return session.scalar(select(Project).where(Project.name == name))


def get_project_by_channel(*, session: Session, channel_id: str) -> Project | None:
    """The project bound to a Slack channel, with its members, in one query (every request
    from Slack starts here)."""
    query = (
        select(Project).where(Project.channel_id == channel_id).options(joinedload(Project.members))
    )
    return session.scalars(query).unique().one_or_none()


def list_projects(*, session: Session) -> Sequence[Project]:
    """Every project, by name, with its members loaded."""
    return session.scalars(select(Project).order_by(Project.name)).all()


def list_projects_of_user(*, session: Session, user_id: str) -> Sequence[Project]:
    """The projects where `user_id` is a named member or owner."""
    query = (
        select(Project)
        .join(ProjectMember)
        .where(ProjectMember.user_id == user_id)
        .order_by(Project.name)
    )
    return session.scalars(query).unique().all()


# Clusters -------------------------------------------------------------------------------


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


# Endpoint services ----------------------------------------------------------------------


def get_service_by_cluster(*, session: Session, cluster_id: int) -> EndpointService | None:
    """The endpoint service of a cluster."""
    query = select(EndpointService).where(EndpointService.cluster_id == cluster_id)
    return session.scalar(query)


def map_services_by_cluster(
    *, session: Session, cluster_ids: Sequence[int]
) -> dict[int, EndpointService]:
    """The endpoint services of many clusters, in one query, keyed by cluster id."""
    if not cluster_ids:
        return {}
    query = select(EndpointService).where(EndpointService.cluster_id.in_(cluster_ids))
    return {service.cluster_id: service for service in session.scalars(query)}


# Private endpoints ----------------------------------------------------------------------


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
    query = (
        select(PrivateEndpoint.cluster_id, func.count())
        .where(
            PrivateEndpoint.cluster_id.in_(cluster_ids),
            PrivateEndpoint.status != EndpointStatus.DELETING,
        )
        .group_by(PrivateEndpoint.cluster_id)
    )
    return {row[0]: row[1] for row in session.execute(query)}


def delete_endpoint(*, session: Session, endpoint: PrivateEndpoint) -> None:
    """Remove a private endpoint row; its history stays in the event log."""
    session.delete(endpoint)
    session.flush()


# Audit log and outbox -------------------------------------------------------------------


def record_event(
    *,
    session: Session,
    project_id: int | None,
    subject: str,
    subject_id: int,
    actor: str,
    action: str,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: str | None = None,
) -> Event:
    """Append one entry to the audit log."""
    event = Event(
        project_id=project_id,
        subject=subject,
        subject_id=subject_id,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        detail=detail,
    )
    session.add(event)
    return event


def list_events(*, session: Session, subject: str, subject_id: int) -> Sequence[Event]:
    """The history of one subject, oldest first."""
    query = (
        select(Event)
        .where(Event.subject == subject, Event.subject_id == subject_id)
        .order_by(Event.id)
    )
    return session.scalars(query).all()


def add_outbox(
    *,
    session: Session,
    dedupe_key: str,
    kind: str,
    channel_id: str | None,
    payload: dict[str, Any],
    thread_key: str,
    private_endpoint_id: int | None = None,
) -> Outbox | None:
    """Queue a Slack notification unless one with `dedupe_key` is already queued."""
    existing = session.scalar(select(Outbox.id).where(Outbox.dedupe_key == dedupe_key))
    if existing is not None:
        return None
    row = Outbox(
        dedupe_key=dedupe_key,
        kind=kind,
        channel_id=channel_id,
        payload=payload,
        thread_key=thread_key,
        private_endpoint_id=private_endpoint_id,
    )
    session.add(row)
    return row


def get_project(*, session: Session, project_id: int) -> Project | None:
    """The project with this id."""
    return session.get(Project, project_id)


def get_endpoint(*, session: Session, endpoint_id: int) -> PrivateEndpoint | None:
    """The private endpoint with this id."""
    return session.get(PrivateEndpoint, endpoint_id)


def get_endpoint_in_context(*, session: Session, endpoint_id: int) -> PrivateEndpoint | None:
    """The private endpoint with its project, the project's members and its cluster, in one
    query: what a wizard step checks and shows."""
    context = [
        joinedload(PrivateEndpoint.project).joinedload(Project.members),
        joinedload(PrivateEndpoint.cluster),
    ]
    return session.get(PrivateEndpoint, endpoint_id, options=context)


def get_endpoint_by_creation_key(*, session: Session, creation_key: str) -> PrivateEndpoint | None:
    """The private endpoint a wizard created, by the wizard's key."""
    query = select(PrivateEndpoint).where(PrivateEndpoint.creation_key == creation_key)
    return session.scalar(query)


def get_endpoint_by_vpce(*, session: Session, vpce_id: str) -> PrivateEndpoint | None:
    """The private endpoint holding a VPC endpoint id (until its row is removed)."""
    return session.scalar(select(PrivateEndpoint).where(PrivateEndpoint.vpce_id == vpce_id))


def add_member(*, session: Session, project: Project, user_id: str) -> None:
    """Remember that `user_id` is in the project's channel (owners stay owners)."""
    if all(member.user_id != user_id for member in project.members):
        project.members.append(ProjectMember(user_id=user_id, role=Role.MEMBER))
        session.flush()


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
        query = (
            select(PrivateEndpoint.project_id, func.count())
            .where(PrivateEndpoint.project_id.in_(project_ids))
            .group_by(PrivateEndpoint.project_id)
        )
        counts.update((project_id, count) for project_id, count in session.execute(query))
    return counts


def subnet_ids_of_project(
    *, session: Session, project_id: int, statuses: Collection[EndpointStatus]
) -> list[list[str]]:
    """The subnets of each of a project's endpoints in `statuses`, without loading the rows."""
    query = select(PrivateEndpoint.subnet_ids).where(
        PrivateEndpoint.project_id == project_id, PrivateEndpoint.status.in_(sorted(statuses))
    )
    return list(session.scalars(query))


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
