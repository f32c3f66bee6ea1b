"""Statuses, wizard stages and the enumerations of the domain."""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    DEDICATED = "dedicated"
    DEVELOPER = "developer"


class Cloud(StrEnum):
    AWS = "aws"
    GCP = "gcp"


class ClusterStatus(StrEnum):
    CREATING = "creating"
    ACTIVE = "active"
    DELETING = "deleting"


class ServiceStatus(StrEnum):
    """Endpoint service status; AWS's `Pending` is `creating`, `Available` is `active`."""

    CREATING = "creating"
    ACTIVE = "active"
    DELETING = "deleting"
    FAILED = "failed"
    DELETED = "deleted"


class EndpointStatus(StrEnum):
    """Private endpoint status. `deleted` is terminal: the row leaves the live list."""

    NOT_CONFIGURED = "not_configured"
    INITIATING = "initiating"
    PENDING = "pending"
    ACTIVE = "active"
    DELETING = "deleting"
    FAILED = "failed"
    DELETED = "deleted"


LIVE_ENDPOINT_STATUSES = frozenset(EndpointStatus) - {EndpointStatus.DELETED}


class Stage(StrEnum):
    """Wizard stages, in order."""

    CHOOSE_CLUSTER = "choose_cluster"
    SERVICE_ENDPOINT = "service_endpoint"
    INTERFACE_ENDPOINT = "interface_endpoint"
    ACCEPT_ENDPOINT_CONNECTION = "accept_endpoint_connection"
    ENABLE_PRIVATE_DNS = "enable_private_dns"
    DONE = "done"

    @property
    def label(self) -> str:
        """The stage's name as a person reads it."""
        return _STAGE_TITLES[self]

    def next(self) -> Stage:
        """The stage after this one (`done` stays `done`)."""
        order = list(Stage)
        return order[min(order.index(self) + 1, len(order) - 1)]


_STAGE_TITLES = {
    Stage.CHOOSE_CLUSTER: "Choose Cluster",
    Stage.SERVICE_ENDPOINT: "Service Endpoint",
    Stage.INTERFACE_ENDPOINT: "Interface Endpoint",
    Stage.ACCEPT_ENDPOINT_CONNECTION: "Accept Endpoint Connection",
    Stage.ENABLE_PRIVATE_DNS: "Enable Private DNS",
    Stage.DONE: "Done",
}


class Role(StrEnum):
    OWNER = "owner"
    MEMBER = "member"


class Action(StrEnum):
    """What a user asks the bot to do in a project."""

    CREATE = "create"
    EDIT = "edit"
    TERMINATE = "terminate"
    LIST = "list"
    CONNECT = "connect"
    BILLING = "billing"
    DECIDE_CONNECTION = "decide_connection"
    VERIFY_DNS = "verify_dns"


class ConnectionState(StrEnum):
    """A VPC endpoint connection's state, as the endpoint service's side of AWS reports it."""

    PENDING_ACCEPTANCE = "pendingAcceptance"
    PENDING = "pending"
    AVAILABLE = "available"
    DELETING = "deleting"
    DELETED = "deleted"
    REJECTED = "rejected"
    FAILED = "failed"
    EXPIRED = "expired"
