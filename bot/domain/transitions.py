"""The transition tables: `(status, event) -> status`, for endpoints and endpoint services."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import IllegalTransition
from bot.domain.states import EndpointStatus as E
from bot.domain.states import ServiceStatus as S


class EndpointEvent(StrEnum):
    """What happens to a private endpoint, from a person or from AWS."""

    INTERFACE_SUBMITTED = "interface_submitted"  # account, VPC and subnets given
    VPCE_SUBMITTED = "vpce_submitted"  # the user's vpce id given; verify and accept it
    VPCE_ADOPTED = "vpce_adopted"  # the only request from the wizard's account taken as its own
    CONNECTION_ACCEPTED = "connection_accepted"  # AWS accepted the connection
    CREATE_SUBMITTED = "create_submitted"  # private DNS stage finished with Create
    CONNECTION_AVAILABLE = "connection_available"  # AWS reports the connection available
    STEP_FAILED = "step_failed"  # a step failed for good
    TERMINATE = "terminate"  # an owner terminated it
    CLUSTER_DROPPED = "cluster_dropped"  # its cluster was dropped
    REMOVED = "removed"  # AWS side cleaned up; leaves the live list


class ServiceEvent(StrEnum):
    """What happens to an endpoint service."""

    AWS_AVAILABLE = "aws_available"
    AWS_FAILED = "aws_failed"
    RETRY = "retry"
    CLUSTER_DROPPED = "cluster_dropped"
    REMOVED = "removed"


_LIVE_BEFORE_DELETE = (E.NOT_CONFIGURED, E.INITIATING, E.PENDING, E.ACTIVE, E.FAILED)

ENDPOINT_TRANSITIONS: dict[tuple[E, EndpointEvent], E] = {
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
    **{(status, EndpointEvent.TERMINATE): E.DELETING for status in _LIVE_BEFORE_DELETE},
    **{(status, EndpointEvent.CLUSTER_DROPPED): E.DELETING for status in _LIVE_BEFORE_DELETE},
    (E.DELETING, EndpointEvent.REMOVED): E.DELETED,
}

SERVICE_TRANSITIONS: dict[tuple[S, ServiceEvent], S] = {
    (S.CREATING, ServiceEvent.AWS_AVAILABLE): S.ACTIVE,
    (S.CREATING, ServiceEvent.AWS_FAILED): S.FAILED,
    (S.FAILED, ServiceEvent.RETRY): S.CREATING,
    (S.CREATING, ServiceEvent.CLUSTER_DROPPED): S.DELETING,
    (S.ACTIVE, ServiceEvent.CLUSTER_DROPPED): S.DELETING,
    (S.FAILED, ServiceEvent.CLUSTER_DROPPED): S.DELETING,
    (S.DELETING, ServiceEvent.REMOVED): S.DELETED,
}


@dataclass(frozen=True, slots=True)
class EndpointChange:
    """The outcome of an endpoint transition, for the service layer to persist and announce."""

    event: EndpointEvent
    from_status: E
    to_status: E

    @property
    def changes_status(self) -> bool:
        """Whether the status moved (a self-loop records the step but is no status change)."""
        return self.from_status != self.to_status

    @property
    def is_alert(self) -> bool:
        """Active and Failed are broadcast to the channel as alerts."""
        return self.changes_status and self.to_status in (E.ACTIVE, E.FAILED)


def endpoint_transition(status: E, event: EndpointEvent) -> EndpointChange:
    """Apply `event` to an endpoint in `status`, or raise IllegalTransition."""
    try:
        to_status = ENDPOINT_TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition(
            f"A private endpoint that is {status.value} cannot take '{event.value}'."
        ) from None
    return EndpointChange(event=event, from_status=status, to_status=to_status)


def service_transition(status: S, event: ServiceEvent) -> S:
    """Apply `event` to an endpoint service in `status`, or raise IllegalTransition."""
    try:
        return SERVICE_TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition(
            f"An endpoint service that is {status.value} cannot take '{event.value}'."
        ) from None
