"""The health of the targets behind a cluster's load balancer, as the worker keeps it: what it
last read, how many reads in a row found no healthy target, and what it last told.

Clients cannot reach a cluster through their endpoints once no target behind its load
balancer is healthy. One read with none healthy can be a target being replaced; two in a row
(`DOWN_AFTER`) are told, once; a read with a healthy target after that is told, once. Each
change told gets the next number (`TargetHealth.changes`), so that each has its own alerts,
however often a cluster goes down and comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from bot.domain.alerts import AlertKind

DOWN_AFTER = 2
"""Reads in a row with no healthy target before clients are told they cannot reach the cluster."""


@dataclass(frozen=True, slots=True)
class Reading:
    """The targets behind a cluster's load balancer, as one read found them; `reason`: why the
    first unhealthy one is not healthy, in AWS's words (empty when all are)."""

    healthy: int
    total: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TargetHealth:
    """What the worker last read of a cluster's targets (`healthy` None: never read), and what
    it last told about them."""

    read_at: datetime | None = None
    healthy: int | None = None
    total: int | None = None
    reason: str | None = None
    unhealthy_reads: int = 0  # reads in a row that found no healthy target, up to DOWN_AFTER
    down: bool = False  # told that clients cannot reach the cluster, not yet that they can
    changes: int = 0  # the changes told so far; the last one's number

    def same_as(self, other: TargetHealth) -> bool:
        """Whether both say the same of the targets (when they were read aside)."""
        return replace(self, read_at=None) == replace(other, read_at=None)


@dataclass(frozen=True, slots=True)
class HealthOutcome:
    """A cluster's health after a reading, to be saved only if its told changes are still
    `expect_changes`; `change`: what to tell its Active endpoints, if anything."""

    expect_changes: int
    health: TargetHealth
    change: AlertKind | None


def is_due(*, health: TargetHealth, due_before: datetime | None) -> bool:
    """Whether a pass reads the targets again: never read, or last read before `due_before`
    (None: every pass)."""
    return due_before is None or health.read_at is None or health.read_at <= due_before


def after_reading(
    *, health: TargetHealth, reading: Reading, at: datetime
) -> tuple[TargetHealth, AlertKind | None]:
    """The cluster's health once `reading` (made `at`) is taken in, and the change to tell, if
    any: down after `DOWN_AFTER` reads in a row with no healthy target, up at the first healthy
    one after that. A cluster that stays as it was changes nothing (its reads in a row are
    counted up to `DOWN_AFTER`), so it costs no save."""
    unhealthy = 0 if reading.healthy > 0 else min(health.unhealthy_reads + 1, DOWN_AFTER)
    change: AlertKind | None = None
    if health.down and reading.healthy > 0:
        change = AlertKind.TARGETS_UP
    elif not health.down and unhealthy >= DOWN_AFTER:
        change = AlertKind.TARGETS_DOWN
    down = health.down if change is None else change is AlertKind.TARGETS_DOWN
    return (
        TargetHealth(
            read_at=at,
            healthy=reading.healthy,
            total=reading.total,
            reason=reading.reason or None,
            unhealthy_reads=unhealthy,
            down=down,
            changes=health.changes + (change is not None),
        ),
        change,
    )
