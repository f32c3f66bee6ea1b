"""Alerts the worker raises about a private endpoint by itself, with no change of status: what
each tells, and when one is due. Told once per endpoint, alert and status (see
`bot.services.changes.alert`); a reconcile step raises them (`bot.reconcile.stuck_endpoints`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.states import EndpointStatus


class AlertKind(StrEnum):
    """What an alert tells; each has its words in the endpoint's thread."""

    STUCK = "stuck"  # waiting on its creator for longer than BOT_STUCK_AFTER


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert about an endpoint in the status the worker saw it in, raised `at` (its pass's
    time)."""

    kind: AlertKind
    at: datetime


STUCK_STATUSES = frozenset({EndpointStatus.INITIATING, EndpointStatus.PENDING})
"""The statuses that wait on the endpoint's creator: the VPC endpoint to make, or private DNS
to turn on and the wizard to finish. Any other status is done, failed (said so already) or the
bot's to move on."""


def stuck_before(*, now: datetime, after: float) -> datetime:
    """An endpoint in a waiting status since before this time is stuck at `now`."""
    return now - timedelta(seconds=after)


def is_stuck(*, status: EndpointStatus, since: datetime, now: datetime, after: float) -> bool:
    """Whether an endpoint in `status` since `since` has waited on its creator for longer than
    `after` seconds at `now`."""
    return status in STUCK_STATUSES and since < stuck_before(now=now, after=after)
