"""One reconcile pass over claimed units, region by region (see `bot.worker.reconciler`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.aws.privatelink import ConnectionInfo, PrivateLinkGateway, ServiceInfo
from bot.domain.states import EndpointStatus, ServiceStatus
from bot.observability import TRANSITIONS
from bot.services import changes
from bot.services.reconcile import Unit, UnitOutcome
from bot.storage.db import run_in_transaction
from bot.storage.types import utcnow
from bot.worker import reconcile_dns, reconcile_requests, reconcile_steps
from bot.worker import reconcile_plan as plan
from bot.worker.reconcile_report import PassReport
from bot.worker.reconcile_save import LostClaim, ModalTarget, save

log = logging.getLogger("bot.worker.reconciler")

Gateways = Callable[[str], PrivateLinkGateway]
Checkpoint = Callable[[str, int], None]
"""Called with ("created" | "mutated" | "dropped", service id) after a unit's AWS calls and
before its outcome is saved (tests crash the worker there)."""


@dataclass(frozen=True)
class ReconcilePolicy:
    """Leases and limits of a pass (seconds); the lease outlasts a pass's AWS calls."""

    lease: float = 300.0
    lease_margin: float = 30.0
    batch: int = 500
    not_found_grace: float = 30.0


class Clock:
    """The pass's time: `start` (or now), advancing with the monotonic clock."""

    def __init__(self, start: datetime | None) -> None:
        self.start = start or utcnow()
        self._origin = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._origin)


def region_of(unit: Unit) -> str:
    """The region a unit is worked in: its cluster's."""
    return unit.cluster.region


def held_by(unit: Unit) -> set[str]:
    """The vpce ids the unit's own wizards hold (a failed one holds none: its id was wrong, or
    its connection is lost), so that they are not offered elsewhere or asked of the owners."""
    return {
        e.vpce_id for e in unit.endpoints if e.vpce_id and e.status is not EndpointStatus.FAILED
    }


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

    def region(self, region: str, units: list[Unit]) -> None:
        """Work the claimed units of one region."""
        self.report.regions += 1
        gateway = self.gateways(region)
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
            and plan.effective_status(unit=u, outcome=outcomes[u.service.id])
            is ServiceStatus.ACTIVE
        ]
        active_ids = {u.service.id for u in active}
        connections = self._connections(gateway, active)
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
        requests = reconcile_requests.plan_requests(
            sessions=self.sessions, units=active, plans=plans, connections=connections, held=held
        )
        for unit in live:
            outcome = outcomes[unit.service.id]
            if not self._leased(unit):
                continue
            reconcile_steps.mutate(
                gateway=gateway,
                unit=unit,
                outcome=outcome,
                connections=plans[unit.service.id],
                report=self.report,
            )
            reconcile_requests.mutate(
                gateway=gateway,
                unit=unit,
                planned=requests.get(unit.service.id),
                outcome=outcome,
                report=self.report,
            )
            reconcile_dns.step(
                gateway=gateway,
                unit=unit,
                info=infos.get(unit.service.aws_service_id or ""),
                outcome=outcome,
                report=self.report,
            )
            if not outcome.empty:
                self._save(unit, outcome, "mutated")

    def _drop(self, gateway: PrivateLinkGateway, unit: Unit) -> None:
        if not self._leased(unit):
            return
        outcome = reconcile_steps.drop(gateway=gateway, unit=unit, report=self.report)
        if outcome is not None:
            self._save(unit, outcome, "dropped")

    def _create(self, gateway: PrivateLinkGateway, unit: Unit) -> Unit:
        if not self._leased(unit):
            return unit
        outcome = reconcile_steps.create(gateway=gateway, unit=unit, report=self.report)
        if outcome is None:
            return unit
        return self._save(unit, outcome, "created") or unit

    def _poll(
        self, gateway: PrivateLinkGateway, units: Sequence[Unit], fresh: set[int]
    ) -> tuple[dict[int, UnitOutcome], dict[str, ServiceInfo]]:
        """What AWS says of the `creating` services (not those just created) and of the private
        DNS names the pass watches (`reconcile_dns.watched`): one read; the answers by AWS id."""
        outcomes = {u.service.id: UnitOutcome() for u in units}
        creating = [
            u
            for u in units
            if u.service.status is ServiceStatus.CREATING
            and u.service.aws_service_id
            and u.service.id not in fresh
        ]
        read = {u.service.id: u for u in creating + reconcile_dns.watched(units=units, fresh=fresh)}
        if not read:
            return outcomes, {}
        infos = reconcile_steps.read_services(
            gateway=gateway, units=list(read.values()), report=self.report
        )
        if infos is None:
            return outcomes, {}
        for unit in creating:
            info = infos.get(unit.service.aws_service_id or "")
            outcomes[unit.service.id] = plan.service_outcome(unit=unit, info=info)
        return outcomes, infos

    def _connections(
        self, gateway: PrivateLinkGateway, active: Sequence[Unit]
    ) -> dict[str, ConnectionInfo] | None:
        """The region's connections to `active` services (None: AWS did not answer), plus,
        only when a vpce id is missing there, the provider's others, to name the service."""
        if not active:
            return {}
        ids = [u.service.aws_service_id or "" for u in active]
        found = reconcile_steps.read_connections(
            gateway=gateway, service_ids=ids, report=self.report
        )
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
        everything = reconcile_steps.read_connections(
            gateway=gateway, service_ids=None, report=self.report
        )
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
        self.report.transitions += len(saved.transitions)
        for change in saved.transitions:
            if change.subject == changes.ENDPOINT_SUBJECT:
                TRANSITIONS.labels(event=change.event, to_status=change.to_status or "").inc()
            log.info(
                "transition subject=%s id=%s event=%s from=%s to=%s worker=%s",
                change.subject,
                change.subject_id,
                change.event,
                change.from_status,
                change.to_status,
                self.worker_id,
                extra={
                    "subject": change.subject,
                    "subject_id": change.subject_id,
                    "event": str(change.event),
                    "from_status": change.from_status,
                    "to_status": change.to_status,
                    "detail": change.detail,
                    "worker": self.worker_id,
                },
            )
        self.modals += saved.modals
        return saved.unit
