"""The entities as the rules see them: plain, immutable values loaded by the service layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.domain.cluster_health import TargetHealth
from bot.domain.states import (
    Cloud,
    ClusterStatus,
    EndpointStatus,
    ServiceStatus,
    Stage,
    Tier,
)

DEFAULT_PORT = 4000


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    name: str
    channel_id: str
    team_id: str | None = None
    owners: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Cluster:
    id: int
    project_id: int
    name: str
    tier: Tier
    cloud: Cloud
    region: str
    status: ClusterStatus
    nlb_arn: str | None = None
    port: int = DEFAULT_PORT
    private_dns_host: str | None = None
    health: TargetHealth = TargetHealth()  # the targets behind its load balancer


@dataclass(frozen=True, slots=True)
class EndpointService:
    id: int
    cluster_id: int
    status: ServiceStatus
    aws_service_id: str | None = None
    service_name: str | None = None
    az_ids: tuple[str, ...] = ()
    private_dns_name: str | None = None
    failure_reason: str | None = None
    allowed_accounts: tuple[str, ...] = ()  # AWS accounts the worker has allowed to connect
    dns_state: str | None = (
        None  # see bot.domain.dns_verification.DnsState; None: no name, or not read yet
    )
    dns_verify_requested_at: datetime | None = None  # an owner pressed Verify now

    def allows(self, account_id: str | None) -> bool:
        """Whether `account_id` may request a connection to the service now."""
        return account_id is not None and account_id in self.allowed_accounts


@dataclass(frozen=True, slots=True)
class PrivateEndpoint:
    id: int
    project_id: int
    cluster_id: int
    stage: Stage
    status: EndpointStatus
    created_by: str
    account_id: str | None = None
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    vpce_id: str | None = None
    failure_reason: str | None = None
    suggested_vpce_id: str | None = None  # a pending request from its account, seen on AWS
    security_group_ids: tuple[str, ...] = ()  # the user's groups; none: the wizard shows how

    @property
    def verifying(self) -> bool:
        """A vpce id was submitted and is being verified and accepted."""
        return self.status is EndpointStatus.INITIATING and self.vpce_id is not None


def default_private_dns_host(*, cluster_name: str, region: str, zone: str) -> str:
    """The private DNS host of a cluster: `<cluster>.<region>.<zone>`."""
    return f"{cluster_name}.{region}.{zone}"
