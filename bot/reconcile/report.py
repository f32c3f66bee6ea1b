"""What a reconcile pass did, and how an AWS error of one of its steps is counted and logged."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.domain.errors import AwsError
from bot.reconcile.units import Unit

log = logging.getLogger("bot.worker.reconciler")


@dataclass(frozen=True, slots=True)
class Transition:
    """A status change that was saved, for the worker's log."""

    subject: str
    subject_id: int
    event: str
    from_status: str | None
    to_status: str | None
    detail: str | None = None


@dataclass
class PassReport:
    """What one reconcile pass did (counts), for logs, metrics and tests."""

    claimed: int = 0
    regions: int = 0
    saved: int = 0
    transitions: int = 0
    services_created: int = 0
    services_deleted: int = 0
    allowed: int = 0
    disallowed: int = 0
    accepted: int = 0
    rejected: int = 0
    suggestions: int = 0
    unknown: int = 0
    retryable: int = 0
    aws_errors: int = 0
    lost: int = 0
    stale: int = 0
    modals_updated: int = 0
    modals_closed: int = 0
    modal_errors: int = 0


def aws_failed(*, report: PassReport, step: str, unit: Unit | None, error: AwsError) -> None:
    """Count and log an AWS error of `step`."""
    service = unit.service.id if unit else None
    if error.retryable:
        report.retryable += 1
        log.warning(
            "aws_retry step=%s service=%s code=%s: %s",
            step,
            service,
            error.code,
            error,
            extra={"step": step, "service": service, "code": error.code},
        )
    else:
        report.aws_errors += 1
        log.error(
            "aws_error step=%s service=%s code=%s: %s",
            step,
            service,
            error.code,
            error,
            extra={"step": step, "service": service, "code": error.code},
        )
