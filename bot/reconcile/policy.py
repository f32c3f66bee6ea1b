"""How a reconcile pass works: its leases and limits, how often a service is looked at (the
reconcile interval, and sooner while someone waits on AWS; a cluster's targets, once an
interval), and how long an endpoint may wait on its creator before a reminder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.storage import service_queries


@dataclass(frozen=True)
class ReconcilePolicy:
    """Leases and limits of a pass (seconds); the lease outlasts a pass's AWS calls.

    With `interval` set, a pass takes only the services due: each service is looked at once an
    `interval`, and one whose wizard waits on AWS once a `hot_interval`, for `hot_window` after
    its endpoint last changed (a wizard left waiting for days goes back to the interval)."""

    lease: float = 300.0
    lease_margin: float = 30.0
    batch: int = 500
    not_found_grace: float = 30.0
    interval: float = 0.0
    hot_interval: float = 0.0
    hot_window: float = 1800.0

    @property
    def tick(self) -> float:
        """How often the loop runs a pass: the hot interval, if any, else the interval."""
        return min(self.interval, self.hot_interval or self.interval)

    def due(self, now: datetime) -> service_queries.Due | None:
        """Which services a pass started at `now` takes (None: all free ones)."""
        if not self.interval:
            return None
        slack = timedelta(seconds=self.tick / 2)  # a pass is never skipped for a few ms
        return service_queries.Due(
            before=now - timedelta(seconds=self.interval) + slack,
            hot_before=now - timedelta(seconds=self.tick) + slack,
            hot_since=now - timedelta(seconds=self.hot_window),
        )

    def health_due_before(self, now: datetime) -> datetime | None:
        """A cluster whose targets were last read before this is read again by a pass started
        at `now` (None: by every pass): once an interval, whatever the hot cadence."""
        due = self.due(now)
        return None if due is None else due.before

    stuck_after: float = 86400.0  # BOT_STUCK_AFTER
