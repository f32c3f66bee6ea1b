"""One reconcile pass over claimed units, region by region.

A pass claims free endpoint services (a unit: the service, its cluster and endpoints; see
`bot.storage.service_queries`), loads them in a fixed number of queries and works them
region by region: dropped clusters are removed from AWS; new services are created; `creating`
services are read in one batched call; allowed principals follow the endpoints' accounts; the
region's connections are read in one batched call and accepted, rejected or watched; endpoints
stuck waiting on their creator are reminded; the targets behind active services' load balancers
are read, once an interval. Each concern (services, principals, connections, DNS, requests,
stuck endpoints, target health, modals) has a pure plan, its AWS calls and its part of the
unit's one save. Each unit's outcome is saved in one transaction right after its AWS
mutations, so a crash repeats at most the mutations of one unit, and those are idempotent on
AWS. Open modals of changed endpoints are updated once the pass is done, outside any
transaction.

One region's trouble stays in that region: once AWS there proves unreachable (a connection
failure or a timeout) the pass makes no more calls there, and an unexpected error in one
region's work stops only that region's work; either way the pass goes on with the next region
and counts the region in `PassReport.regions_failed`. What failed is logged once, when the pass
ends: a line per AWS step and error code (`bot.reconcile.report.log_failures`), a line per
type of unexpected error, with the first one's traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from itertools import groupby

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.aws.errors import RegionUnreachable
from bot.aws.gateways import Gateways
from bot.aws.privatelink import ConnectionInfo, PrivateLinkGateway, ServiceInfo
from bot.clock import Clock
from bot.domain.states import EndpointStatus, ServiceStatus
from bot.observability import RECONCILE_REGION_FAILURES
from bot.reconcile import (
    cluster_health,
    connection_requests,
    dns_verification,
    endpoint_services,
    modals,
    principals,
    stuck_endpoints,
)
from bot.reconcile import connections as plan
from bot.reconcile.modals import ShowModal
from bot.reconcile.policy import ReconcilePolicy
from bot.reconcile.report import BrokenRegions, PassReport, log_failures, log_transitions
from bot.reconcile.save import LostClaim, ModalTarget, save
from bot.reconcile.units import Unit, UnitOutcome, effective_status, held_by, load_units, region_of
from bot.storage import service_queries
from bot.storage.db import is_unavailable, read_only, run_in_transaction

log = logging.getLogger("bot.worker.reconciler")

Checkpoint = Callable[[str, int], None]
"""Called with ("created" | "mutated" | "dropped", service id) after a unit's AWS calls and
before its outcome is saved (tests crash the worker there)."""


def run_pass(
    *,
    sessions: sessionmaker[Session],
    gateways: Gateways,
    show_modal: ShowModal | None,
    worker_id: str,
    clock: Clock,
    policy: ReconcilePolicy,
    checkpoint: Checkpoint | None,
) -> PassReport:
    """One pass over the services this worker can claim; what it did."""
    work = Pass(sessions, gateways, worker_id, clock, policy, checkpoint)
    ids = service_queries.claim(
        sessions=sessions,
        worker_id=worker_id,
        now=clock.start,
        lease=policy.lease,
        batch=policy.batch,
        due=policy.due(clock.start),
    )
    work.report.claimed = len(ids)
    if not ids:
        return work.report
    try:
        with sessions() as session:
            read_only(session)
            units = load_units(session=session, worker_id=worker_id, service_ids=ids)
            work.stuck = stuck_endpoints.due(
                session=session, units=units, now=clock.start, after=policy.stuck_after
            )
        for region, group in groupby(sorted(units, key=region_of), key=region_of):
            work.region(region, list(group))
    finally:
        work.log()
        service_queries.release(
            sessions=sessions, worker_id=worker_id, service_ids=ids, at=clock.start
        )
    if show_modal is not None and work.modals:
        shown = modals.push(sessions=sessions, show=show_modal, targets=work.modals)
        work.report.modals_updated = shown.updated
        work.report.modals_closed = shown.closed
        work.report.modal_errors = shown.failed
    return work.report


class Pass:
    """The state of one pass: its clock, lease, report and the modals to update after it."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        gateways: Gateways,
        worker_id: str,
        clock: Clock,
        policy: ReconcilePolicy,
        checkpoint: Checkpoint | None,
    ) -> None:
        self.sessions = sessions
        self.gateways = gateways
        self.worker_id = worker_id
        self.clock = clock
        self.policy = policy
        self.checkpoint = checkpoint
        self.lease_end = clock.start + timedelta(seconds=policy.lease - policy.lease_margin)
        self.report = PassReport()
        self.modals: list[ModalTarget] = []
        self.broken = BrokenRegions()
        self.stuck: frozenset[int] = frozenset()  # endpoints due a reminder (stuck_endpoints)

    def region(self, region: str, units: list[Unit]) -> None:
        """Work the claimed units of one region; if AWS there cannot be reached, or something
        unexpected breaks, the rest of its work waits for the next pass."""
        self.report.regions += 1
        gateway = self.gateways(region).for_pass()
        try:
            self._work(gateway, units)
        except RegionUnreachable:  # its cause is counted and logged as an AWS error
            self.report.regions_failed += 1
            RECONCILE_REGION_FAILURES.labels(reason="aws_unreachable").inc()
        except Exception as error:  # counted here, logged with its traceback by `log`
            if isinstance(error, SQLAlchemyError) and is_unavailable(error):
                raise  # not this region's: the whole pass fails, and the loop backs off
            self.report.regions_failed += 1
            RECONCILE_REGION_FAILURES.labels(reason="error").inc()
            self.broken.add(region=region, error=error)

    def log(self) -> None:
        """Log what failed in the pass, once per cause (see `bot.reconcile.report`)."""
        log_failures(report=self.report)
        self.broken.log()

    def _work(self, gateway: PrivateLinkGateway, units: list[Unit]) -> None:
        """The region's work: drops, creations, one read of services and of connections, then
        each unit's mutations and save."""
        live: list[Unit] = []
        fresh: set[int] = set()
        for unit in units:
            if unit.dropping:
                self._drop(gateway, unit)
            elif unit.service.status is ServiceStatus.CREATING and not unit.service.aws_service_id:
                live.append(self._create(gateway, unit))
                fresh.add(unit.service.id)
            else:
                live.append(unit)
        outcomes, infos = self._poll(gateway, live, fresh)
        active = [
            u
            for u in live
            if u.service.aws_service_id
            and effective_status(unit=u, outcome=outcomes[u.service.id]) is ServiceStatus.ACTIVE
        ]
        active_ids = {u.service.id for u in active}
        connections = self._connections(gateway, active)
        reads = cluster_health.HealthReads(
            gateway=gateway,
            units=active,
            due_before=self.policy.health_due_before(self.clock.start),
            report=self.report,
        )
        held = {u.service.id: held_by(u) for u in live}
        plans = {
            u.service.id: plan.plan_connections(
                unit=u,
                active=u.service.id in active_ids,
                connections=connections,
                held=held[u.service.id],
                now=self.clock.start,
                grace=self.policy.not_found_grace,
            )
            for u in live
        }
        found = (
            connection_requests.recorded(sessions=self.sessions, units=active, plans=plans)
            if connections is not None
            else []
        )
        to_decide = connection_requests.plan_requests(
            units=active, plans=plans, connections=connections, held=held, found=found
        )
        try:
            for unit in live:
                outcome = outcomes[unit.service.id]
                if not self._leased(unit):
                    continue
                self._mutate(gateway, unit, outcome, plans[unit.service.id])
                connection_requests.mutate(
                    gateway=gateway,
                    unit=unit,
                    planned=to_decide.get(unit.service.id),
                    outcome=outcome,
                    report=self.report,
                )
                dns_verification.step(
                    gateway=gateway,
                    unit=unit,
                    info=infos.get(unit.service.aws_service_id or ""),
                    outcome=outcome,
                    report=self.report,
                )
                outcome.endpoints += stuck_endpoints.plan(
                    unit=unit,
                    due=self.stuck,
                    planned=outcome.endpoints,
                    now=self.clock.start,
                    after=self.policy.stuck_after,
                )
                outcome.health = cluster_health.plan(
                    unit=unit, reading=reads.reading(unit), now=self.clock.start
                )
                if not outcome.empty:
                    self._save(unit, outcome, "mutated")
        finally:
            reads.mark(sessions=self.sessions, now=self.clock.start)

    def _mutate(
        self,
        gateway: PrivateLinkGateway,
        unit: Unit,
        outcome: UnitOutcome,
        connections: plan.ConnectionPlan,
    ) -> None:
        """The unit's AWS mutations, in order: a failed service discarded, accounts allowed,
        connections accepted and rejected, accounts no longer needed disallowed."""
        report = self.report
        endpoint_services.discard_failed(gateway=gateway, unit=unit, outcome=outcome, report=report)
        service_id = unit.service.aws_service_id
        active = effective_status(unit=unit, outcome=outcome) is ServiceStatus.ACTIVE
        granted = set(unit.allowed_accounts)
        disallow: frozenset[str] = frozenset()
        if active and service_id is not None:
            allow, disallow = principals.grants(unit=unit)
            granted = principals.allow(
                gateway=gateway,
                unit=unit,
                service_id=service_id,
                accounts=allow,
                outcome=outcome,
                report=report,
            )
        failed = {o.endpoint_id for o in outcome.endpoints}
        to_accept = {v: e for v, e in connections.accept.items() if e.id not in failed}
        outcome.endpoints += connections.outcomes
        if service_id is not None:
            outcome.endpoints += plan.accept(
                gateway=gateway,
                unit=unit,
                service_id=service_id,
                endpoints=to_accept,
                report=report,
            )
            outcome.endpoints += plan.reject(
                gateway=gateway,
                unit=unit,
                service_id=service_id,
                endpoints=connections.reject,
                report=report,
            )
        if disallow and service_id is not None:
            principals.disallow(
                gateway=gateway,
                unit=unit,
                service_id=service_id,
                accounts=disallow,
                granted=granted,
                report=report,
            )
        if granted != unit.allowed_accounts:
            outcome.allowed_accounts = frozenset(granted)
        outcome.unknown += connections.unknown

    def _drop(self, gateway: PrivateLinkGateway, unit: Unit) -> None:
        if not self._leased(unit):
            return
        outcome = endpoint_services.drop(gateway=gateway, unit=unit, report=self.report)
        if outcome is not None:
            self._save(unit, outcome, "dropped")

    def _create(self, gateway: PrivateLinkGateway, unit: Unit) -> Unit:
        if not self._leased(unit):
            return unit
        outcome = endpoint_services.create(gateway=gateway, unit=unit, report=self.report)
        if outcome is None:
            return unit
        return self._save(unit, outcome, "created") or unit

    def _poll(
        self, gateway: PrivateLinkGateway, units: Sequence[Unit], fresh: set[int]
    ) -> tuple[dict[int, UnitOutcome], dict[str, ServiceInfo]]:
        """What AWS says of the `creating` services (not those just created) and of the private
        DNS names the pass watches (`dns_verification.watched`): one read; the answers by AWS id."""
        outcomes = {u.service.id: UnitOutcome() for u in units}
        creating = [
            u
            for u in units
            if u.service.status is ServiceStatus.CREATING
            and u.service.aws_service_id
            and u.service.id not in fresh
        ]
        read = {
            u.service.id: u for u in creating + dns_verification.watched(units=units, fresh=fresh)
        }
        if not read:
            return outcomes, {}
        infos = endpoint_services.read_services(
            gateway=gateway, units=list(read.values()), report=self.report
        )
        if infos is None:
            return outcomes, {}
        for unit in creating:
            info = infos.get(unit.service.aws_service_id or "")
            outcomes[unit.service.id] = endpoint_services.service_outcome(unit=unit, info=info)
        return outcomes, infos

    def _connections(
        self, gateway: PrivateLinkGateway, active: Sequence[Unit]
    ) -> dict[str, ConnectionInfo] | None:
        """The region's connections to `active` services (None: AWS did not answer), plus,
        only when a vpce id is missing there, the provider's others, to name the service."""
        if not active:
            return {}
        ids = [u.service.aws_service_id or "" for u in active]
        found = plan.read_connections(gateway=gateway, service_ids=ids, report=self.report)
        if found is None:
            return None
        missing = {
            e.vpce_id
            for u in active
            for e in u.endpoints
            if e.status is EndpointStatus.INITIATING
            and e.vpce_id
            and e.vpce_id not in found
            and plan.past_grace(endpoint=e, now=self.clock.start, grace=self.policy.not_found_grace)
        }
        if not missing:
            return found
        everything = plan.read_connections(gateway=gateway, service_ids=None, report=self.report)
        if everything is None:
            return None
        return found | {vpce: c for vpce, c in everything.items() if vpce in missing}

    def _leased(self, unit: Unit) -> bool:
        """Whether this worker's lease on the unit lasts through its AWS calls."""
        if self.clock() < self.lease_end:
            return True
        self.report.lost += 1
        log.warning("lease_ending service=%s: left for the next pass", unit.service.id)
        return False

    def _save(self, unit: Unit, outcome: UnitOutcome, step: str) -> Unit | None:
        if self.checkpoint is not None:
            self.checkpoint(step, unit.service.id)
        try:
            saved = run_in_transaction(
                self.sessions,
                lambda session: save(
                    session=session, worker_id=self.worker_id, unit=unit, outcome=outcome
                ),
            )
        except LostClaim as error:
            self.report.lost += 1
            log.warning("claim_lost service=%s: %s", unit.service.id, error)
            return None
        self.report.saved += 1
        self.report.stale += saved.stale
        self.report.suggestions += saved.suggestions
        self.report.unknown += saved.unknown
        self.report.alerts += saved.alerts
        self.report.transitions += len(saved.transitions)
        log_transitions(transitions=saved.transitions, worker=self.worker_id)
        self.modals += saved.modals
        return saved.unit
