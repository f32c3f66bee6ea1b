"""Queries on endpoint services: by cluster, counts, and as units of the worker's work (leases).

A service is free when nobody holds it (`claimed_by` NULL) or its holder's lease ran out
(`claimed_until` passed: the holder crashed or hung). A claim is one short transaction:
`SELECT … FOR UPDATE SKIP LOCKED` on Postgres (a second worker skips the rows the first is
claiming), a plain SELECT under SQLite's single writer (`BEGIN IMMEDIATE`). Released services
keep the pass's time in `claimed_until`, and the least recently worked are claimed first.

A service is due once its last pass is `due_before`; a hot one, sooner (`hot_before`): one that
someone waits for since `hot_since` (the service being made or deleted, an endpoint waiting for
its connection to be accepted or available, or to be removed after a terminate), so that it
moves within seconds while the rest of the fleet keeps the reconcile interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, exists, func, nulls_first, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from bot.domain.states import EndpointStatus, ServiceStatus, Stage
from bot.storage.db import transaction
from bot.storage.orm import EndpointService, PrivateEndpoint
from bot.storage.types import utcnow

WAITING = (EndpointStatus.INITIATING, EndpointStatus.DELETING)
"""An endpoint in these statuses waits on AWS: for its connection request or acceptance, or
its removal after a terminate (and a `pending` one at `done`, for `available`)."""
BUSY_SERVICES = (ServiceStatus.CREATING, ServiceStatus.DELETING)
"""A service being made (its wizard waits for it) or deleted (its cluster was dropped)."""
_OF_CLUSTER = select(EndpointService).where(EndpointService.cluster_id == bindparam("cluster"))
"""Built once: building a statement costs more than running it."""


@dataclass(frozen=True, slots=True)
class Due:
    """Which free services a pass takes: those last worked before `before`, and the hot ones
    (waiting since `hot_since`) last worked before `hot_before`. None: every free one."""

    before: datetime
    hot_before: datetime
    hot_since: datetime


def _hot(due: Due) -> ColumnElement[bool]:
    waiting = exists().where(
        PrivateEndpoint.cluster_id == EndpointService.cluster_id,
        or_(
            PrivateEndpoint.status.in_(WAITING),
            and_(
                PrivateEndpoint.status == EndpointStatus.PENDING,
                PrivateEndpoint.stage == Stage.DONE,
            ),
        ),
        PrivateEndpoint.updated_at >= due.hot_since,
    )
    return and_(
        EndpointService.claimed_until <= due.hot_before,
        or_(EndpointService.status.in_(BUSY_SERVICES), waiting),
    )


def claim(
    *,
    sessions: sessionmaker[Session],
    worker_id: str,
    now: datetime,
    lease: float,
    batch: int,
    due: Due | None = None,
) -> list[int]:
    """Lease up to `batch` free (and, with `due`, due) services to `worker_id` until
    `now + lease`; their ids."""
    free = or_(
        EndpointService.claimed_by.is_(None),
        EndpointService.claimed_until.is_(None),
        EndpointService.claimed_until <= now,
    )
    if due is not None:
        free = and_(
            free,
            or_(
                EndpointService.claimed_until.is_(None),
                EndpointService.claimed_until <= due.before,
                _hot(due),
            ),
        )
    query = (
        select(EndpointService.id)
        .where(free)
        .order_by(nulls_first(EndpointService.claimed_until.asc()), EndpointService.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    with transaction(sessions) as session:
        ids = list(session.scalars(query))
        if ids:
            session.execute(
                update(EndpointService)
                .where(EndpointService.id.in_(ids))
                .values(claimed_by=worker_id, claimed_until=now + timedelta(seconds=lease))
                .execution_options(synchronize_session=False)
            )
    return ids


def release(
    *, sessions: sessionmaker[Session], worker_id: str, service_ids: Sequence[int], at: datetime
) -> None:
    """Give back the services this worker still holds, noting when they were worked."""
    if not service_ids:
        return
    with transaction(sessions) as session:
        session.execute(
            update(EndpointService)
            .where(EndpointService.id.in_(service_ids), EndpointService.claimed_by == worker_id)
            .values(claimed_by=None, claimed_until=at)
            .execution_options(synchronize_session=False)
        )


def list_claimed(
    *, session: Session, worker_id: str, service_ids: Sequence[int]
) -> Sequence[EndpointService]:
    """The services among `service_ids` that `worker_id` holds, by id."""
    return session.scalars(
        select(EndpointService)
        .where(EndpointService.id.in_(service_ids))
        .where(EndpointService.claimed_by == worker_id)
        .order_by(EndpointService.id)
    ).all()


def get_locked(*, session: Session, service_id: int) -> EndpointService | None:
    """The service, its row locked until the transaction ends."""
    return session.scalar(
        select(EndpointService).where(EndpointService.id == service_id).with_for_update()
    )


def get_service_by_cluster(*, session: Session, cluster_id: int) -> EndpointService | None:
    """The endpoint service of a cluster."""
    return session.scalar(_OF_CLUSTER, {"cluster": cluster_id})


def map_services_by_cluster(
    *, session: Session, cluster_ids: Sequence[int]
) -> dict[int, EndpointService]:
    """The endpoint services of many clusters, in one query, keyed by cluster id."""
    if not cluster_ids:
        return {}
    query = select(EndpointService).where(EndpointService.cluster_id.in_(cluster_ids))
    return {service.cluster_id: service for service in session.scalars(query)}


def count_services_by_status(*, session: Session) -> dict[ServiceStatus, int]:
    """How many endpoint services are in each status, in one query (absent: none)."""
    query = select(EndpointService.status, func.count()).group_by(EndpointService.status)
    return dict(session.execute(query).all())


def get_id_by_cluster(*, session: Session, cluster_id: int) -> int | None:
    """The id of the cluster's endpoint service, if it has one."""
    return session.scalar(
        select(EndpointService.id).where(EndpointService.cluster_id == cluster_id)
    )


def request_dns_verification(*, session: Session, service_id: int) -> bool:
    """Note a Verify now request on the service unless one waits already; whether it was new."""
    queued = session.connection().execute(
        update(EndpointService)
        .where(
            EndpointService.id == service_id,
            EndpointService.dns_verify_requested_at.is_(None),
        )
        .values(dns_verify_requested_at=utcnow())
    )
    return queued.rowcount == 1
