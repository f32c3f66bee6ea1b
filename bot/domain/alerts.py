"""Alerts the worker raises about a private endpoint by itself, with no change of status: what
each tells, and when one is due. Told once per endpoint, alert and status, or, for an alert
about the endpoint's cluster, once per endpoint and change of the cluster (see
`bot.services.changes.alert`); reconcile steps raise them (`bot.reconcile.stuck_endpoints`,
`bot.reconcile.cluster_health`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.domain.states import EndpointStatus


class AlertKind(StrEnum):
    """What an alert tells; each has its words in the endpoint's thread."""

    STUCK = "stuck"  # waiting on its creator for longer than BOT_STUCK_AFTER
    TARGETS_DOWN = "targets_down"  # no healthy target behind its cluster's load balancer
    TARGETS_UP = "targets_up"  # a target is healthy again after that


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert about an endpoint in the status the worker saw it in (or about its cluster's
    change number `change`), raised `at` (its pass's time)."""

    kind: AlertKind
    at: datetime
    change: int | None = None  # of an alert about the cluster: the number of its change


CLUSTER_ALERTS = frozenset({AlertKind.TARGETS_DOWN, AlertKind.TARGETS_UP})
"""Alerts about the endpoint's cluster, told in the thread and in the channel too."""


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
