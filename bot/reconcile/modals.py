"""Live modal updates after a reconcile pass: an open wizard shows, in place, what the worker
has just learned.

Plan: the latest wizard state per endpoint whose modal is open. The Slack call is given
(`ShowModal`, wired by `bot.worker.reconciler`), so this package never imports Slack. Save: the
modals found closed are forgotten, in one statement. Runs after the pass's transactions have
committed, never inside one; a closed modal or one another update got to first is not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from bot.reconcile.save import ModalTarget
from bot.services.wizard import WizardState
from bot.storage import endpoint_queries
from bot.storage.db import transaction

log = logging.getLogger("bot.worker.modals")


class ModalResult(StrEnum):
    """What became of one modal update."""

    UPDATED = "updated"
    CLOSED = "closed"  # the user closed the modal: forget it
    OVERTAKEN = "overtaken"  # another update got there first: leave it
    FAILED = "failed"  # Slack or the network failed: the next change tries again


@dataclass(frozen=True, slots=True)
class Shown:
    """The result of one update, and the error Slack gave, if any."""

    result: ModalResult
    error: str | None = None


ShowModal = Callable[[str, WizardState], Shown]
"""Show a wizard state in the open modal with this view id."""


@dataclass
class ModalReport:
    """How many modals were updated, found closed, or could not be updated."""

    updated: int = 0
    closed: int = 0
    failed: int = 0


def latest(targets: Sequence[ModalTarget]) -> list[ModalTarget]:
    """The last target of each endpoint: only its newest state is worth showing."""
    return list({target.endpoint_id: target for target in targets}.values())


def push(
    *, sessions: sessionmaker[Session], show: ShowModal, targets: Sequence[ModalTarget]
) -> ModalReport:
    """Show each target's wizard in its open modal (the latest state per endpoint)."""
    report = ModalReport()
    closed: list[tuple[int, str]] = []
    for target in latest(targets):
        shown = show(target.view_id, target.state)
        if shown.result is ModalResult.UPDATED:
            report.updated += 1
        elif shown.result is ModalResult.CLOSED:
            closed.append((target.endpoint_id, target.view_id))
            report.closed += 1
        elif shown.result is ModalResult.FAILED:
            report.failed += 1
            log.warning(
                "modal_update_failed endpoint=%s view=%s error=%s",
                target.endpoint_id,
                target.view_id,
                shown.error,
            )
    if closed:
        with transaction(sessions) as session:
            endpoint_queries.forget_views(session=session, views=closed)
    return report
