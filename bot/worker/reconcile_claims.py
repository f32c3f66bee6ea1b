"""Leases on endpoint services, so that several reconcile workers never work the same one.

A service is free when nobody holds it (`claimed_by` NULL) or its holder's lease ran out
(`claimed_until` passed: the holder crashed or hung). A claim is one short transaction:
`SELECT … FOR UPDATE SKIP LOCKED` on Postgres (a second worker skips the rows the first is
claiming), a plain SELECT under SQLite's single writer (`BEGIN IMMEDIATE`). Released services
keep the pass's time in `claimed_until`, and the least recently worked are claimed first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import nulls_first, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.db import transaction
from bot.storage.orm import EndpointService


def claim(
    *,
    sessions: sessionmaker[Session],
    worker_id: str,
    now: datetime,
    lease: float,
    batch: int,
) -> list[int]:
    """Lease up to `batch` free services to `worker_id` until `now + lease`; their ids."""
    query = (
        select(EndpointService.id)
        .where(
            or_(
                EndpointService.claimed_by.is_(None),
                EndpointService.claimed_until.is_(None),
                EndpointService.claimed_until <= now,
            )
        )
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
