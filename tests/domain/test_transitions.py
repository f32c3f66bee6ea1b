"""The transition tables, enumerated: every pair either reaches its status or raises."""

from __future__ import annotations

import itertools

import pytest

from bot.domain.errors import IllegalTransition
from bot.domain.states import EndpointStatus as E
from bot.domain.states import ServiceStatus as S
from bot.domain.transitions import (
    ENDPOINT_TRANSITIONS,
    SERVICE_TRANSITIONS,
    EndpointEvent,
    ServiceEvent,
    endpoint_transition,
    service_transition,
)

# The documented endpoint life cycle, written out independently of the table.
EXPECTED_ENDPOINT = {
    (E.NOT_CONFIGURED, EndpointEvent.INTERFACE_SUBMITTED): E.INITIATING,
    (E.FAILED, EndpointEvent.INTERFACE_SUBMITTED): E.INITIATING,
    (E.INITIATING, EndpointEvent.VPCE_SUBMITTED): E.INITIATING,
    (E.INITIATING, EndpointEvent.VPCE_ADOPTED): E.INITIATING,
    (E.FAILED, EndpointEvent.VPCE_SUBMITTED): E.INITIATING,
    (E.INITIATING, EndpointEvent.CONNECTION_ACCEPTED): E.PENDING,
    (E.PENDING, EndpointEvent.CREATE_SUBMITTED): E.PENDING,
    (E.PENDING, EndpointEvent.CONNECTION_AVAILABLE): E.ACTIVE,
    (E.NOT_CONFIGURED, EndpointEvent.STEP_FAILED): E.FAILED,
    (E.INITIATING, EndpointEvent.STEP_FAILED): E.FAILED,
    (E.PENDING, EndpointEvent.STEP_FAILED): E.FAILED,
    (E.ACTIVE, EndpointEvent.STEP_FAILED): E.FAILED,
    (E.NOT_CONFIGURED, EndpointEvent.TERMINATE): E.DELETING,
    (E.INITIATING, EndpointEvent.TERMINATE): E.DELETING,
    (E.PENDING, EndpointEvent.TERMINATE): E.DELETING,
    (E.ACTIVE, EndpointEvent.TERMINATE): E.DELETING,
    (E.FAILED, EndpointEvent.TERMINATE): E.DELETING,
    (E.NOT_CONFIGURED, EndpointEvent.CLUSTER_DROPPED): E.DELETING,
    (E.INITIATING, EndpointEvent.CLUSTER_DROPPED): E.DELETING,
    (E.PENDING, EndpointEvent.CLUSTER_DROPPED): E.DELETING,
    (E.ACTIVE, EndpointEvent.CLUSTER_DROPPED): E.DELETING,
    (E.FAILED, EndpointEvent.CLUSTER_DROPPED): E.DELETING,
    (E.DELETING, EndpointEvent.REMOVED): E.DELETED,
}

EXPECTED_SERVICE = {
    (S.CREATING, ServiceEvent.AWS_AVAILABLE): S.ACTIVE,
    (S.CREATING, ServiceEvent.AWS_FAILED): S.FAILED,
    (S.FAILED, ServiceEvent.RETRY): S.CREATING,
    (S.CREATING, ServiceEvent.CLUSTER_DROPPED): S.DELETING,
    (S.ACTIVE, ServiceEvent.CLUSTER_DROPPED): S.DELETING,
    (S.FAILED, ServiceEvent.CLUSTER_DROPPED): S.DELETING,
    (S.DELETING, ServiceEvent.REMOVED): S.DELETED,
}

ALL_ENDPOINT_PAIRS = list(itertools.product(E, EndpointEvent))
ALL_SERVICE_PAIRS = list(itertools.product(S, ServiceEvent))


def test_tables_are_exactly_the_documented_life_cycle() -> None:
    assert ENDPOINT_TRANSITIONS == EXPECTED_ENDPOINT
    assert SERVICE_TRANSITIONS == EXPECTED_SERVICE


@pytest.mark.parametrize(("status", "event"), ALL_ENDPOINT_PAIRS)
def test_every_endpoint_pair(status: E, event: EndpointEvent) -> None:
    expected = EXPECTED_ENDPOINT.get((status, event))
    if expected is None:
        with pytest.raises(IllegalTransition, match=status.value):
            endpoint_transition(status, event)
    else:
        change = endpoint_transition(status, event)
        assert (change.from_status, change.to_status, change.event) == (status, expected, event)


@pytest.mark.parametrize(("status", "event"), ALL_SERVICE_PAIRS)
def test_every_service_pair(status: S, event: ServiceEvent) -> None:
    expected = EXPECTED_SERVICE.get((status, event))
    if expected is None:
        with pytest.raises(IllegalTransition, match=status.value):
            service_transition(status, event)
    else:
        assert service_transition(status, event) is expected


def test_terminal_states_take_nothing() -> None:
    for event in EndpointEvent:
        with pytest.raises(IllegalTransition):
            endpoint_transition(E.DELETED, event)
    for service_event in ServiceEvent:
        with pytest.raises(IllegalTransition):
            service_transition(S.DELETED, service_event)


def test_alerts_are_the_moves_into_active_and_failed() -> None:
    alerts = {pair for pair in EXPECTED_ENDPOINT if endpoint_transition(*pair).is_alert}
    assert alerts == {
        (E.PENDING, EndpointEvent.CONNECTION_AVAILABLE),
        (E.NOT_CONFIGURED, EndpointEvent.STEP_FAILED),
        (E.INITIATING, EndpointEvent.STEP_FAILED),
        (E.PENDING, EndpointEvent.STEP_FAILED),
        (E.ACTIVE, EndpointEvent.STEP_FAILED),
    }
    self_loop = endpoint_transition(E.INITIATING, EndpointEvent.VPCE_SUBMITTED)
    assert not self_loop.changes_status and not self_loop.is_alert
