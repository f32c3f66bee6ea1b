"""Queries on connection requests from unknown endpoints; keyword-only, callers own the
transaction. Rows a decision or the worker changes are read with their row locks."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from bot.storage.orm import ConnectionRequest


def list_for_services(
    *,
    session: Session,
    service_ids: Sequence[int],
    statuses: Collection[str],
    vpce_ids: Sequence[str] = (),
) -> Sequence[ConnectionRequest]:
    """The requests on these services in one of `statuses`, or whose vpce is one of
    `vpce_ids`, by id, in one query."""
    if not service_ids:
        return []
    table = ConnectionRequest
    wanted: ColumnElement[bool] = table.status.in_(sorted(statuses))
    if vpce_ids:
        wanted = or_(wanted, table.vpce_id.in_(sorted(set(vpce_ids))))
    query = (
        select(table).where(table.endpoint_service_id.in_(service_ids), wanted).order_by(table.id)
    )
    return session.scalars(query).all()


def exists(*, session: Session, service_id: int, vpce_id: str) -> bool:
    """Whether a request from `vpce_id` on the service is recorded."""
    table = ConnectionRequest
    found = session.scalar(
        select(table.id).where(table.endpoint_service_id == service_id, table.vpce_id == vpce_id)
    )
    return found is not None


def map_locked(*, session: Session, ids: Sequence[int]) -> dict[int, ConnectionRequest]:
    """The requests with these ids by id, their rows locked."""
    query = select(ConnectionRequest).where(ConnectionRequest.id.in_(ids)).with_for_update()
    return {row.id: row for row in session.scalars(query)}


def list_of_service(
    *, session: Session, service_id: int, statuses: Collection[str]
) -> Sequence[ConnectionRequest]:
    """The service's requests in one of `statuses`."""
    table = ConnectionRequest
    query = select(table).where(
        table.endpoint_service_id == service_id, table.status.in_(sorted(statuses))
    )
    return session.scalars(query).all()


def get_locked(*, session: Session, request_id: int) -> ConnectionRequest | None:
    """The request, its row locked."""
    query = select(ConnectionRequest).where(ConnectionRequest.id == request_id).with_for_update()
    return session.scalar(query)
