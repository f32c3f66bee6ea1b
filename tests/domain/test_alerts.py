"""When an endpoint is stuck: in a status that waits on its creator, for longer than the
setting; any other status never is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.alerts import STUCK_STATUSES, is_stuck, stuck_before
from bot.domain.states import EndpointStatus

NOW = datetime(2026, 12, 9, 12, 0, tzinfo=UTC)
DAY = 86400.0


def test_only_initiating_and_pending_wait_on_the_creator() -> None:
    assert STUCK_STATUSES == {EndpointStatus.INITIATING, EndpointStatus.PENDING}


@pytest.mark.parametrize("status", list(EndpointStatus))
def test_a_status_is_stuck_only_past_the_threshold(status: EndpointStatus) -> None:
    long_ago = NOW - timedelta(days=365)
    exactly = NOW - timedelta(seconds=DAY)
    assert is_stuck(status=status, since=long_ago, now=NOW, after=DAY) is (status in STUCK_STATUSES)
    assert not is_stuck(status=status, since=exactly, now=NOW, after=DAY)
    just_past = exactly - timedelta(microseconds=1)
    assert is_stuck(status=status, since=just_past, now=NOW, after=DAY) is (
        status in STUCK_STATUSES
    )


def test_the_threshold_is_the_setting_before_now() -> None:
    assert stuck_before(now=NOW, after=90.0) == NOW - timedelta(seconds=90)
