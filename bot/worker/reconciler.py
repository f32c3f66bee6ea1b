"""The reconcile loop: every state that waits on AWS, advanced from what AWS reports.

A pass claims free endpoint services (a unit: the service, its cluster and endpoints; see
`reconcile_claims`), loads them in a fixed number of queries and works them region by region:
dropped clusters are removed from AWS; new services are created; `creating` services are read
in one batched call; allowed principals follow the endpoints' accounts; the region's
connections are read in one batched call and accepted, rejected or watched. Each unit's
outcome is saved in one transaction right after its AWS mutations, so a crash repeats at most
the mutations of one unit, and those are idempotent on AWS. Open modals of changed endpoints
are updated once the pass is done, outside any transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from itertools import groupby

import boto3
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.aws.privatelink import PrivateLinkGateway, gateway_for_region
from bot.observability import RECONCILE_SECONDS
from bot.services import reconcile
from bot.storage.db import read_only
from bot.worker import modals, reconcile_claims
from bot.worker.outbox import default_worker_id
from bot.worker.reconcile_pass import Checkpoint, Clock, Gateways, Pass, ReconcilePolicy, region_of
from bot.worker.reconcile_report import PassReport

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


def gateway_factory(*, endpoint_url: str | None = None) -> Gateways:
    """Gateways by region from boto3's environment, each made once and then reused; they share
    one boto3 session, so the EC2 service model is loaded once, not once per region."""
    made: dict[str, PrivateLinkGateway] = {}
    lock = threading.Lock()  # a boto3 session must not make clients on two threads at once
    session = boto3.session.Session()

    def gateway(region: str) -> PrivateLinkGateway:
        with lock:
            if region not in made:
                made[region] = gateway_for_region(
                    region, endpoint_url=endpoint_url, session=session
                )
            return made[region]

    return gateway


def reconcile_once(
    *,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    slack: WebClient | None,
    worker_id: str,
    now: datetime | None = None,
    policy: ReconcilePolicy = DEFAULT_POLICY,
    checkpoint: Checkpoint | None = None,
) -> PassReport:
    """One pass over the services this worker can claim; what it did."""
    with RECONCILE_SECONDS.time():
        return _reconcile(
            sessions=sessions,
            gateways=gateways,
            slack=slack,
            worker_id=worker_id,
            clock=Clock(now),
            policy=policy,
            checkpoint=checkpoint,
        )


def _reconcile(
    *,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    slack: WebClient | None,
    worker_id: str,
    clock: Clock,
    policy: ReconcilePolicy,
    checkpoint: Checkpoint | None,
) -> PassReport:
    work = Pass(sessions, gateways, worker_id, clock, policy, checkpoint)
    ids = reconcile_claims.claim(
        sessions=sessions,
        worker_id=worker_id,
        now=clock.start,
        lease=policy.lease,
        batch=policy.batch,
    )
    work.report.claimed = len(ids)
    if not ids:
        return work.report
    try:
        with sessions() as session:
            read_only(session)
            units = reconcile.load_units(session=session, worker_id=worker_id, service_ids=ids)
        for region, group in groupby(sorted(units, key=region_of), key=region_of):
            work.region(region, list(group))
    finally:
        reconcile_claims.release(
            sessions=sessions, worker_id=worker_id, service_ids=ids, at=clock.start
        )
    if slack is not None and work.modals:
        shown = modals.push(sessions=sessions, client=slack, targets=work.modals)
        work.report.modals_updated = shown.updated
        work.report.modals_closed = shown.closed
        work.report.modal_errors = shown.failed
    return work.report


def run_forever(
    *,
    stop: threading.Event,
    interval: float,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    slack: WebClient | None,
    worker_id: str | None = None,
    policy: ReconcilePolicy = DEFAULT_POLICY,
) -> None:
    """A pass every `interval` seconds until `stop` is set; a failed pass is logged, not fatal."""
    worker = worker_id or default_worker_id()
    while not stop.is_set():
        started = time.monotonic()
        try:
            report = reconcile_once(
                sessions=sessions, gateways=gateways, slack=slack, worker_id=worker, policy=policy
            )
        except Exception:
            log.exception("reconcile_pass_failed worker=%s", worker, extra={"worker": worker})
        else:
            if report.transitions or report.retryable or report.aws_errors or report.lost:
                log.info("reconcile_pass worker=%s %s", worker, report, extra={"worker": worker})
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
