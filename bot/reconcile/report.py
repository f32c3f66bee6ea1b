"""What a reconcile pass did, its saved status changes logged and counted, and how the AWS
errors of its steps are counted and logged.

An AWS error is counted when it happens (`aws_failed`) and logged when the pass ends
(`log_failures`): one line per step and error code, however many services and regions it hit,
so an outage logs a line per pass, not one per call. An unexpected error that stopped a
region's work is logged the same way (`BrokenRegions`): a line per type, with a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.domain.errors import AwsError
from bot.observability import TRANSITIONS
from bot.reconcile.units import Unit, region_of
from bot.services.changes import ENDPOINT_SUBJECT

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
    alerts: int = 0  # alerts queued about endpoints (the stuck reminder)
    retryable: int = 0
    aws_errors: int = 0
    lost: int = 0
    stale: int = 0
    modals_updated: int = 0
    modals_closed: int = 0
    modal_errors: int = 0
    regions_failed: int = 0
    failures: dict[str, StepErrors] = field(default_factory=dict, repr=False)
    """The pass's AWS errors by "step code", for `log_failures`."""


def log_transitions(*, transitions: Sequence[Transition], worker: str) -> None:
    """A line per saved status change, and the endpoints' changes counted in `/metrics`."""
    for change in transitions:
        if change.subject == ENDPOINT_SUBJECT:
            TRANSITIONS.labels(event=change.event, to_status=change.to_status or "").inc()
        log.info(
            "transition subject=%s id=%s event=%s from=%s to=%s worker=%s",
            change.subject,
            change.subject_id,
            change.event,
            change.from_status,
            change.to_status,
            worker,
            extra={
                "subject": change.subject,
                "subject_id": change.subject_id,
                "event": str(change.event),
                "from_status": change.from_status,
                "to_status": change.to_status,
                "detail": change.detail,
                "worker": worker,
            },
        )


NAMED_MAX = 20
"""Services named in one log line at most (the count covers them all)."""


@dataclass
class StepErrors:
    """The AWS errors of one step with one code in a pass: how many, where, and the first
    error's words."""

    step: str
    code: str
    retryable: bool
    message: str
    count: int = 0
    regions: list[str] = field(default_factory=list)
    services: list[int] = field(default_factory=list)


def aws_failed(
    *, report: PassReport, step: str, unit: Unit | None, error: AwsError, region: str | None = None
) -> None:
    """Count an AWS error of `step` (in `unit`'s region, or `region`), to be logged with the
    others alike when the pass ends."""
    if error.retryable:
        report.retryable += 1
    else:
        report.aws_errors += 1
    errors = report.failures.setdefault(
        f"{step} {error.code}", StepErrors(step, error.code, error.retryable, str(error))
    )
    errors.count += 1
    where = region_of(unit) if unit is not None else region
    if where is not None and where not in errors.regions:
        errors.regions.append(where)
    named = errors.services
    if unit is not None and unit.service.id not in named and len(named) < NAMED_MAX:
        named.append(unit.service.id)


def log_failures(*, report: PassReport) -> None:
    """Log the pass's AWS errors: one line per step and code, a warning if trying again later
    may help, else an error."""
    for errors in report.failures.values():
        named = ",".join(str(s) for s in errors.services) or "-"
        if len(errors.services) >= NAMED_MAX:
            named += ",…"
        log.log(
            logging.WARNING if errors.retryable else logging.ERROR,
            "%s step=%s code=%s count=%d regions=%s services=%s: %s",
            "aws_retry" if errors.retryable else "aws_error",
            errors.step,
            errors.code,
            errors.count,
            ",".join(errors.regions) or "-",
            named,
            errors.message,
            extra={
                "step": errors.step,
                "code": errors.code,
                "count": errors.count,
                "regions": errors.regions,
                "services": errors.services,
            },
        )


@dataclass
class BrokenRegions:
    """Regions whose work in a pass an unexpected error stopped, by the error's type."""

    by_type: dict[str, list[tuple[str, Exception]]] = field(default_factory=dict)

    def add(self, *, region: str, error: Exception) -> None:
        """Note that `error` stopped the work of `region`."""
        self.by_type.setdefault(type(error).__name__, []).append((region, error))

    def log(self) -> None:
        """One error line per type of error, naming its regions, with the first traceback."""
        for name, failed in self.by_type.items():
            first = failed[0][1]
            regions = ",".join(region for region, _ in failed)
            log.error(
                "region_failed error=%s count=%d regions=%s: %s",
                name,
                len(failed),
                regions,
                first,
                exc_info=first,
                extra={"error": name, "count": len(failed), "regions": regions},
            )
