"""The health behind Active endpoints in a reconcile pass: the targets behind each active
service's load balancer are read, and when a cluster has had no healthy target in two reads in
a row (`bot.domain.cluster_health`), each of its Active endpoints gets one alert in its thread
and the channel, its channel message showing it; when a target is healthy again, one more.

Reads are bounded: at most once per reconcile interval per cluster (its `health_read_at`,
noted for the region's clusters in one statement, whatever the hot cadence that brought the
service into the pass), at most `READS_PER_PASS` load balancers per region and pass, and a
bounded number of calls per load balancer (`bot.aws.target_health`). Each is read after its
unit's AWS mutations. An AWS error while reading one load balancer is counted and logged with
the pass's others and changes nothing: no alert, and the reads in a row stay as they were. ELB
has its own guard in the pass: an ELB that cannot be reached stops the pass's health reads and
nothing else.

What changed is saved in the unit's one save (`bot.reconcile.save`), and only if the cluster's
told changes are as the pass saw them; each change's alerts have their own outbox keys (the
endpoint, the alert and the change's number), so a crash, a rerun or a second worker never
tells one twice. A reading that changes nothing is not saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.aws.errors import RegionUnreachable
from bot.aws.privatelink import PrivateLinkGateway
from bot.domain.alerts import Alert
from bot.domain.cluster_health import HealthOutcome, Reading, after_reading, is_due
from bot.domain.errors import AwsError
from bot.domain.states import EndpointStatus
from bot.reconcile.report import PassReport, aws_failed
from bot.reconcile.units import Unit
from bot.services import changes
from bot.storage import cluster_queries, orm
from bot.storage.db import transaction

STEP = "target_health"
READS_PER_PASS = 100
"""Load balancers read per region and pass at most (2 calls each): the rest wait their turn."""
NEVER = datetime.min.replace(tzinfo=UTC)


class HealthReads:
    """The target health reads of one region's pass: the clusters of `units` (active
    services) due a read (`due_before`; None: all), the longest unread first and at most
    `READS_PER_PASS` of them. Each is read when the pass reaches its unit, after the unit's
    own AWS mutations, so no accept waits on its cluster's read; an ELB that cannot be reached
    stops the pass's reads (not its other work), and what was reached is `mark`ed read."""

    def __init__(
        self,
        *,
        gateway: PrivateLinkGateway,
        units: Sequence[Unit],
        due_before: datetime | None,
        report: PassReport,
    ) -> None:
        due = [
            u
            for u in units
            if u.cluster.nlb_arn and is_due(health=u.cluster.health, due_before=due_before)
        ]
        due.sort(key=lambda u: u.cluster.health.read_at or NEVER)
        self._due = {u.service.id for u in due[:READS_PER_PASS]}
        self._gateway = gateway
        self._report = report
        self._reached: list[int] = []
        self._stopped = False

    def reading(self, unit: Unit) -> Reading | None:
        """The targets behind the unit's load balancer, if due and AWS could tell."""
        if unit.service.id not in self._due:
            return None
        self._reached.append(unit.cluster.id)
        if self._stopped:
            return None
        try:
            found = self._gateway.target_health(
                load_balancer_arn=unit.cluster.nlb_arn or "", port=unit.cluster.port
            )
        except RegionUnreachable as unreachable:
            self._stopped = True
            aws_failed(report=self._report, step=STEP, unit=unit, error=unreachable.cause)
            return None
        except AwsError as error:
            aws_failed(report=self._report, step=STEP, unit=unit, error=error)
            return None
        return Reading(found.healthy, found.total, found.reason)

    def mark(self, *, sessions: sessionmaker[Session], now: datetime) -> None:
        """Note the clusters reached as read at `now` (one statement): read again an interval
        later, whether AWS answered or not."""
        if self._reached:
            with transaction(sessions) as session:
                cluster_queries.mark_health_read(session=session, cluster_ids=self._reached, at=now)


def plan(*, unit: Unit, reading: Reading | None, now: datetime) -> HealthOutcome | None:
    """What the unit's save records of `reading`: nothing if there is none or it changes
    nothing."""
    if reading is None or unit.dropping:
        return None
    seen = unit.cluster.health
    health, change = after_reading(health=seen, reading=reading, at=now)
    if change is None and health.same_as(seen):
        return None
    return HealthOutcome(seen.changes, health, change)


def save(
    *,
    session: Session,
    cluster: orm.Cluster,
    rows: Sequence[orm.PrivateEndpoint],
    outcome: HealthOutcome,
) -> tuple[int, int]:
    """Record the cluster's health (its row as the unit's save holds it) and queue its change's
    alert for each Active endpoint among `rows`; (alerts queued, stale: 1 if the cluster's
    told changes were no longer as the pass saw them, and nothing was saved)."""
    if cluster.health_changes != outcome.expect_changes:
        return 0, 1
    health = outcome.health
    cluster.health_read_at = health.read_at
    cluster.healthy_targets = health.healthy
    cluster.total_targets = health.total
    cluster.health_reason = health.reason
    cluster.unhealthy_reads = health.unhealthy_reads
    cluster.health_down = health.down
    cluster.health_changes = health.changes
    if outcome.change is None or health.read_at is None:
        return 0, 0
    alert = Alert(outcome.change, at=health.read_at, change=health.changes)
    queued = sum(
        changes.alert(session=session, endpoint=row, alert=alert)
        for row in rows
        if row.status is EndpointStatus.ACTIVE
    )
    return queued, 0
