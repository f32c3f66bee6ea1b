"""Private DNS name verification of an endpoint service: AWS's states, the bot's own
`verifying`, and what a change of state tells the project's owners.

On AWS a private DNS name works for consumers only once the provider has proved it owns the
domain: AWS gives a TXT record to publish (`pendingVerification`), the provider publishes it
and starts the check, and AWS answers `verified` or `failed`. `verifying` is the bot's own
state between starting the check and reading its outcome (AWS itself still says
`pendingVerification` then), so that the outcome of every check the bot starts is told once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class DnsState(StrEnum):
    """The state of a private DNS name, as the bot stores it."""

    PENDING = "pendingVerification"
    VERIFYING = "verifying"
    VERIFIED = "verified"
    FAILED = "failed"

    @property
    def label(self) -> str:
        """The state as a person reads it."""
        return _LABELS[self]


_LABELS = {
    DnsState.PENDING: "Pending verification",
    DnsState.VERIFYING: "Being verified",
    DnsState.VERIFIED: "Verified",
    DnsState.FAILED: "Verification failed",
}


class DnsChange(StrEnum):
    """A change of state worth telling the project's owners, one thread reply each."""

    NEEDS_VERIFICATION = "needs_verification"
    STARTED = "started"
    VERIFIED = "verified"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DnsStep:
    """The state to store, and the change to tell (None: nothing to tell)."""

    state: str | None
    change: DnsChange | None = None


@dataclass(frozen=True, slots=True)
class DnsOutcome:
    """What one reconcile pass learnt or did about a service's private DNS name."""

    seen: str | None = None  # AWS's state as read this pass (None: not read)
    txt_name: str | None = None
    txt_value: str | None = None
    reason: str | None = None  # why the verification failed, for the owners
    started: bool = False  # the bot started AWS's verification this pass
    refused: bool = False  # AWS refused to start the verification the bot asked for
    request: datetime | None = None  # the Verify now request this pass handled


def dns_label(state: str | None) -> str:
    """A stored state as a person reads it; `-` when there is none."""
    if state is None:
        return "-"
    try:
        return DnsState(state).label
    except ValueError:
        return state


def is_verified(state: str | None) -> bool | None:
    """Whether the name is verified; None when the bot does not know (no name, or not read)."""
    return None if state is None else state == DnsState.VERIFIED


def dns_transition(
    stored: str | None, seen: str | None, *, started: bool = False, refused: bool = False
) -> DnsStep:
    """What follows from AWS's state `seen` (None: not read) for a name stored as `stored`, from
    the bot starting a verification (`started`: AWS checks now, whatever this pass read before),
    or from AWS refusing to start it (`refused`)."""
    if refused:
        return DnsStep(DnsState.FAILED, DnsChange.FAILED)
    if started:
        return DnsStep(DnsState.VERIFYING, DnsChange.STARTED)
    if seen is None or seen == stored:
        return DnsStep(stored)
    if seen == DnsState.PENDING:
        if stored == DnsState.VERIFYING:
            return DnsStep(stored)  # AWS is still checking
        if stored is None or stored == DnsState.VERIFIED:
            return DnsStep(seen, DnsChange.NEEDS_VERIFICATION)
        return DnsStep(seen)  # failed → pending: someone started a check outside the bot
    if seen == DnsState.VERIFIED:
        return DnsStep(seen, None if stored is None else DnsChange.VERIFIED)
    if seen == DnsState.FAILED:
        return DnsStep(seen, DnsChange.FAILED)
    return DnsStep(seen)  # a state AWS may add some day: kept, not announced


def verification_failed(*, domain: str, txt_name: str | None, txt_value: str | None) -> str:
    """Why AWS answered `failed` (it gives no reason of its own), in plain words."""
    record = f"a TXT record {txt_name} with the value {txt_value}" if txt_name else "the TXT record"
    return (
        f"AWS could not find {record} in the public DNS of {domain} (or of a parent domain). "
        "Check that the record is published in the public zone and that the change has "
        "spread (this can take a while)."
    )
