"""Private DNS verification states: every (stored, seen) pair and what it tells the owners."""

from __future__ import annotations

import itertools

import pytest

from bot.domain.dns_verification import (
    DnsChange,
    DnsState,
    DnsStep,
    dns_label,
    dns_transition,
    is_verified,
    verification_failed,
)

P, V, OK, F = DnsState.PENDING, DnsState.VERIFYING, DnsState.VERIFIED, DnsState.FAILED
STORED = [None, P, V, OK, F]
SEEN = [None, P, OK, F]  # AWS never says `verifying`

EXPECTED: dict[tuple[str | None, str | None], DnsStep] = {
    (None, P): DnsStep(P, DnsChange.NEEDS_VERIFICATION),
    (None, OK): DnsStep(OK),  # verified from the start: nothing to tell
    (None, F): DnsStep(F, DnsChange.FAILED),
    (P, OK): DnsStep(OK, DnsChange.VERIFIED),
    (P, F): DnsStep(F, DnsChange.FAILED),
    (V, P): DnsStep(V),  # AWS is still checking
    (V, OK): DnsStep(OK, DnsChange.VERIFIED),
    (V, F): DnsStep(F, DnsChange.FAILED),
    (OK, P): DnsStep(P, DnsChange.NEEDS_VERIFICATION),  # a new name, or AWS took it back
    (OK, F): DnsStep(F, DnsChange.FAILED),
    (F, P): DnsStep(P),  # a check started outside the bot
    (F, OK): DnsStep(OK, DnsChange.VERIFIED),
}


@pytest.mark.parametrize(("stored", "seen"), list(itertools.product(STORED, SEEN)))
def test_every_pair_of_states(stored: str | None, seen: str | None) -> None:
    expected = EXPECTED.get((stored, seen), DnsStep(stored))  # the rest: nothing changes
    assert dns_transition(stored, seen) == expected


@pytest.mark.parametrize(("stored", "seen"), list(itertools.product(STORED, SEEN)))
def test_starting_a_check_is_told_and_so_is_aws_refusing_it(
    stored: str | None, seen: str | None
) -> None:
    # a check started is under way, even if this pass read `failed` (an older check) first
    assert dns_transition(stored, seen, started=True) == DnsStep(V, DnsChange.STARTED)
    assert dns_transition(stored, seen, refused=True) == DnsStep(F, DnsChange.FAILED)


def test_a_state_aws_may_add_is_kept_and_not_told() -> None:
    assert dns_transition(P, "somethingNew") == DnsStep("somethingNew")
    assert dns_label("somethingNew") == "somethingNew"


def test_labels_and_verified() -> None:
    assert [dns_label(s) for s in STORED] == [
        "-",
        "Pending verification",
        "Being verified",
        "Verified",
        "Verification failed",
    ]
    assert [is_verified(s) for s in STORED] == [None, False, False, True, False]


def test_the_failure_reason_names_the_record() -> None:
    reason = verification_failed(domain="db.example.com", txt_name="_abc", txt_value="vpce:x")
    assert "TXT record _abc with the value vpce:x" in reason and "db.example.com" in reason
    assert "the TXT record in" in verification_failed(
        domain="db.example.com", txt_name=None, txt_value=None
    )
