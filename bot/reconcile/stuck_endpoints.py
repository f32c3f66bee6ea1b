"""The stuck-endpoint reminder in a reconcile pass: an endpoint left `initiating` or `pending`
(`bot.domain.alerts.STUCK_STATUSES`) for longer than BOT_STUCK_AFTER gets one reply in its
thread that mentions its creator and says what to do next.

Which endpoints are due is one indexed query per pass over the claimed units (`due`): those in a
waiting status since before the threshold whose reminder is not queued yet, so one told already
costs an index lookup and no save; no AWS call, no query per endpoint. The plan raises the alert
for the unit's due endpoints as the pass loaded them, unless the pass moves them on; the unit's
one save queues it only if the endpoint is still in that status since the same time
(`bot.reconcile.save`), once per endpoint and status (its outbox key). Like the rest of a unit's
work, a reminder in a region whose AWS cannot be reached waits for a pass that reaches it.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from datetime import datetime

from sqlalchemy.orm import Session

from bot.domain.alerts import STUCK_STATUSES, Alert, AlertKind, is_stuck, stuck_before
from bot.reconcile.units import EndpointOutcome, Unit, alerted
from bot.storage import endpoint_queries


def due(*, session: Session, units: Sequence[Unit], now: datetime, after: float) -> frozenset[int]:
    """The endpoints of `units` stuck at `now` (waiting for longer than `after` seconds) whose
    reminder is not queued yet: one query."""
    return frozenset(
        endpoint_queries.list_alert_due(
            session=session,
            cluster_ids=sorted({u.cluster.id for u in units if not u.dropping}),
            alert=AlertKind.STUCK,
            statuses=STUCK_STATUSES,
            entered_before=stuck_before(now=now, after=after),
        )
    )


def plan(
    *,
    unit: Unit,
    due: Set[int],
    planned: Sequence[EndpointOutcome],
    now: datetime,
    after: float,
) -> list[EndpointOutcome]:
    """The reminders of the unit's due endpoints, as the pass saw them (none for an endpoint
    the pass moves on: it is no longer waiting where it was)."""
    if not due or unit.dropping:
        return []
    moving = {o.endpoint_id for o in planned if o.event is not None}
    return [
        alerted(endpoint=e, alert=Alert(AlertKind.STUCK, at=now))
        for e in unit.endpoints
        if e.id in due
        and e.id not in moving
        and is_stuck(status=e.status, since=e.status_changed_at, now=now, after=after)
    ]
