"""Allowed principals in a reconcile pass: the accounts the unit's endpoints need allowed on
the endpoint service (plan), allowing and disallowing them on AWS (calls), and the accounts
granted (save).

Only the account a user gave may request a connection; a failed endpoint keeps its account
allowed, for its retry, but does not ask for it again. A definitive refusal to allow an
account fails the endpoints waiting on it.
"""

from __future__ import annotations

from bot.aws.privatelink import PrivateLinkGateway
from bot.domain.errors import AwsError
from bot.domain.states import EndpointStatus, Stage
from bot.reconcile.report import PassReport, aws_failed
from bot.reconcile.units import EndpointOutcome, Unit, UnitOutcome, fail
from bot.storage import orm

GRANTED_STATUSES = frozenset(
    {EndpointStatus.INITIATING, EndpointStatus.PENDING, EndpointStatus.ACTIVE}
)
KEPT_STATUSES = GRANTED_STATUSES | {EndpointStatus.FAILED}

# --- plan -------------------------------------------------------------------------------------


def grants(*, unit: Unit) -> tuple[frozenset[str], frozenset[str]]:
    """Accounts to allow (an endpoint needs them) and to disallow (none needs them any more)."""
    granted = unit.allowed_accounts
    wanted = {e.account_id for e in unit.endpoints if e.status in GRANTED_STATUSES and e.account_id}
    kept = {e.account_id for e in unit.endpoints if e.status in KEPT_STATUSES and e.account_id}
    return frozenset(wanted - granted), frozenset(granted - kept)


def grant_failed(*, unit: Unit, account_id: str, reason: str) -> list[EndpointOutcome]:
    """Allowing an account failed for good: its endpoints waiting to connect fail."""
    told = f"The bot could not allow AWS account {account_id} to connect: {reason}"
    return [
        fail(endpoint=e, reason=told, stage=Stage.INTERFACE_ENDPOINT)
        for e in unit.endpoints
        if e.status is EndpointStatus.INITIATING and e.account_id == account_id
    ]


# --- AWS calls --------------------------------------------------------------------------------


def allow(
    *,
    gateway: PrivateLinkGateway,
    unit: Unit,
    service_id: str,
    accounts: frozenset[str],
    outcome: UnitOutcome,
    report: PassReport,
) -> set[str]:
    """Allow `accounts` on the service; the accounts granted now (a refusal fails the
    endpoints waiting on that account, in `outcome`)."""
    granted = set(unit.allowed_accounts)
    for account in sorted(accounts):
        try:
            gateway.allow_account(service_id=service_id, account_id=account)
        except AwsError as error:
            aws_failed(report=report, step="allow_account", unit=unit, error=error)
            if not error.retryable:
                outcome.endpoints += grant_failed(unit=unit, account_id=account, reason=str(error))
            continue
        granted.add(account)
        report.allowed += 1
    return granted


def disallow(
    *,
    gateway: PrivateLinkGateway,
    unit: Unit,
    service_id: str,
    accounts: frozenset[str],
    granted: set[str],
    report: PassReport,
) -> None:
    """Disallow `accounts` on the service, taking each one done out of `granted`."""
    for account in sorted(accounts):
        try:
            gateway.disallow_account(service_id=service_id, account_id=account)
        except AwsError as error:
            aws_failed(report=report, step="disallow_account", unit=unit, error=error)
            continue
        granted.discard(account)
        report.disallowed += 1


# --- save -------------------------------------------------------------------------------------


def save(*, service: orm.EndpointService, outcome: UnitOutcome) -> set[str]:
    """Record the accounts granted (the row is locked); the ones granted by this pass."""
    before = set(service.allowed_accounts)
    if outcome.allowed_accounts is not None:
        service.allowed_accounts = sorted(outcome.allowed_accounts)
    return set(service.allowed_accounts) - before
