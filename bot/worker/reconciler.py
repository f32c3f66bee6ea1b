"""The reconcile loop: a pass (`bot.reconcile.passes`) every interval, wired to AWS and Slack.

This module only wires: boto3 gateways per region, the Slack call behind live modal updates,
the pass's duration metric, and the loop that survives a failed pass.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.aws.gateways import Gateways, gateway_factory
from bot.clock import Clock
from bot.observability import RECONCILE_SECONDS
from bot.reconcile.modals import ModalResult, ShowModal, Shown
from bot.reconcile.passes import Checkpoint, run_pass
from bot.reconcile.policy import ReconcilePolicy
from bot.reconcile.report import PassReport
from bot.services.wizard import WizardState
from bot.slack.views.wizard import wizard_view
from bot.slack.workspaces import Workspaces, workspaces_of
from bot.storage.db import is_unavailable, unavailable_reason
from bot.worker.health import Heartbeat, back_off
from bot.worker.outbox import default_worker_id

log = logging.getLogger(__name__)

__all__ = [
    "Checkpoint",
    "Gateways",
    "PassReport",
    "ReconcilePolicy",
    "default_worker_id",
    "gateway_factory",
    "reconcile_once",
    "run_forever",
]

DEFAULT_POLICY = ReconcilePolicy()
LOOP = "reconcile"
MODAL_CLOSED = "not_found"
MODAL_OVERTAKEN = "hash_conflict"


def show_wizard(slack: WebClient | Workspaces) -> ShowModal:
    """Live modal updates through Slack's `views.update`, as the bot of the project's
    workspace; a closed modal (`not_found`) and one another update got to first
    (`hash_conflict`) are sorted out, not errors."""
    workspaces = workspaces_of(slack)

    def show(view_id: str, state: WizardState) -> Shown:
        client = workspaces.client(state.project.team_id)
        if client is None:  # uninstalled since it opened: the modal is gone with the app
            return Shown(ModalResult.CLOSED, "no_installation")
        try:
            client.views_update(view_id=view_id, view=wizard_view(state))
        except SlackApiError as error:
            code = str(error.response.get("error"))
            if code == MODAL_CLOSED:
                return Shown(ModalResult.CLOSED, code)
            if code == MODAL_OVERTAKEN:
                return Shown(ModalResult.OVERTAKEN, code)
            return Shown(ModalResult.FAILED, code)
        except (SlackClientError, OSError) as error:
            return Shown(ModalResult.FAILED, str(error))
        return Shown(ModalResult.UPDATED)

    return show


def reconcile_once(
    *,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    slack: WebClient | Workspaces | None,
    worker_id: str,
    now: datetime | None = None,
    policy: ReconcilePolicy = DEFAULT_POLICY,
    checkpoint: Checkpoint | None = None,
) -> PassReport:
    """One pass over the services this worker can claim; what it did."""
    with RECONCILE_SECONDS.time():
        return run_pass(
            sessions=sessions,
            gateways=gateways,
            show_modal=show_wizard(slack) if slack is not None else None,
            worker_id=worker_id,
            clock=Clock(now),
            policy=policy,
            checkpoint=checkpoint,
        )


def run_forever(
    *,
    stop: threading.Event,
    interval: float,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    slack: WebClient | Workspaces | None,
    worker_id: str | None = None,
    policy: ReconcilePolicy = DEFAULT_POLICY,
    heartbeat: Heartbeat | None = None,
) -> None:
    """A pass every `interval` seconds (or the policy's shorter tick: each pass then takes the
    services due) until `stop` is set; a failed pass is logged, not fatal.
    Each pass is told to `heartbeat`: failed when it raised or no region it worked could be
    finished (AWS unreachable everywhere). While the database is unavailable (lost, read-only,
    full), the passes back off (`back_off`), each failure one log line without a traceback."""
    worker = worker_id or default_worker_id()
    beat = heartbeat or Heartbeat()
    failures = 0  # passes in a row the database failed
    while not stop.is_set():
        started = time.monotonic()
        try:
            report = reconcile_once(
                sessions=sessions, gateways=gateways, slack=slack, worker_id=worker, policy=policy
            )
        except Exception as error:
            if not (isinstance(error, SQLAlchemyError) and is_unavailable(error)):
                log.exception("reconcile_pass_failed worker=%s", worker, extra={"worker": worker})
                beat.failed(LOOP, f"{type(error).__name__}: {error}")
                stop.wait(max(0.0, interval - (time.monotonic() - started)))
                continue
            failures += 1
            reason, pause = unavailable_reason(error), back_off(interval, failures)
            log.warning(
                "reconcile_pass_failed worker=%s: %s; trying again in %.0f s",
                worker,
                reason,
                pause,
                extra={"worker": worker},
            )
            beat.failed(LOOP, reason)
            stop.wait(pause)
            continue
        else:
            failures = 0
            if report.regions and report.regions_failed >= report.regions:
                beat.failed(LOOP, f"AWS could not be reached in {report.regions} region(s)")
            else:
                beat.ok(LOOP)
            failed = report.retryable or report.aws_errors or report.regions_failed
            if report.transitions or report.alerts or failed or report.lost:
                log.info("reconcile_pass worker=%s %s", worker, report, extra={"worker": worker})
        tick = policy.tick if policy.interval else interval
        stop.wait(max(0.0, tick - (time.monotonic() - started)))
