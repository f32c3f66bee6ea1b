"""When a cluster's target readings are a change to tell: down after two reads in a row with no
healthy target, up at the first healthy one after that, each change numbered, nothing else; and
when its targets are due another read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.alerts import AlertKind
from bot.domain.cluster_health import (
    DOWN_AFTER,
    Reading,
    TargetHealth,
    after_reading,
    is_due,
)

NOW = datetime(2026, 12, 10, 12, 0, tzinfo=UTC)
NONE_HEALTHY = Reading(0, 2, "i-0abc:4000 is unused: Target is in the stopped state")
ALL_HEALTHY = Reading(2, 2)


def read(health: TargetHealth, *readings: Reading) -> tuple[TargetHealth, list[AlertKind | None]]:
    told: list[AlertKind | None] = []
    for index, reading in enumerate(readings):
        health, change = after_reading(
            health=health, reading=reading, at=NOW + timedelta(minutes=index)
        )
        told.append(change)
    return health, told


def test_down_is_told_at_the_second_read_in_a_row_with_none_healthy_then_up_once() -> None:
    health, told = read(TargetHealth(), NONE_HEALTHY, NONE_HEALTHY, NONE_HEALTHY, ALL_HEALTHY)
    assert DOWN_AFTER == 2
    assert told == [None, AlertKind.TARGETS_DOWN, None, AlertKind.TARGETS_UP]
    assert (health.healthy, health.total, health.down, health.changes) == (2, 2, False, 2)
    assert health.reason is None and health.unhealthy_reads == 0
    assert health.read_at == NOW + timedelta(minutes=3)


def test_one_read_with_none_healthy_between_healthy_ones_tells_nothing() -> None:
    health, told = read(TargetHealth(), ALL_HEALTHY, NONE_HEALTHY, ALL_HEALTHY, NONE_HEALTHY)
    assert told == [None, None, None, None]
    assert (health.unhealthy_reads, health.down, health.changes) == (1, False, 0)
    assert health.reason == NONE_HEALTHY.reason


def test_a_cluster_with_no_target_at_all_is_down_too() -> None:
    _, told = read(TargetHealth(), Reading(0, 0, "none registered"), Reading(0, 0))
    assert told == [None, AlertKind.TARGETS_DOWN]


def test_a_cluster_that_stays_as_it_was_changes_nothing_but_the_time_of_its_read() -> None:
    down, _ = read(TargetHealth(), NONE_HEALTHY, NONE_HEALTHY)
    again, told = read(down, NONE_HEALTHY, NONE_HEALTHY)
    assert told == [None, None]
    assert again == down  # the same reads, at the same times
    later, _ = after_reading(health=down, reading=NONE_HEALTHY, at=NOW + timedelta(hours=1))
    assert later.same_as(down) and later.read_at != down.read_at
    assert not later.same_as(TargetHealth())


@given(st.lists(st.booleans(), max_size=40))
def test_changes_alternate_and_are_numbered_in_order(healthy: list[bool]) -> None:
    readings = [ALL_HEALTHY if h else NONE_HEALTHY for h in healthy]
    health, told = read(TargetHealth(), *readings)
    changes = [c for c in told if c is not None]
    assert health.changes == len(changes)
    assert all(a is not b for a, b in zip(changes, changes[1:], strict=False))
    assert changes[:1] in ([], [AlertKind.TARGETS_DOWN])
    assert health.down is (changes[-1:] == [AlertKind.TARGETS_DOWN])


def test_targets_are_due_once_last_read_before_the_threshold() -> None:
    before = NOW - timedelta(seconds=60)
    assert is_due(health=TargetHealth(), due_before=before)  # never read
    assert is_due(health=TargetHealth(read_at=NOW), due_before=None)  # no interval: every pass
    assert is_due(health=TargetHealth(read_at=before), due_before=before)
    assert not is_due(health=TargetHealth(read_at=before + timedelta(seconds=1)), due_before=before)
