"""The health of the targets behind a cluster's network load balancer, over a boto3 ELBv2
client, in typed values.

A load balancer costs one `DescribeTargetGroups` call (its target groups, at most
`TARGET_GROUPS_READ` of them, by `LoadBalancerArn`) and one `DescribeTargetHealth` call per
target group read (those on the cluster's port, when any is): a bounded number of calls per
cluster, whatever its size. Failures leave as
`bot.domain.errors.AwsError` through the region's guard (`bot.aws.calls.RegionCalls`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.aws.calls import RegionCalls

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_elbv2.type_defs import TargetHealthDescriptionTypeDef

TARGET_GROUPS_READ = 10
"""Target groups read per load balancer and pass (an NLB has one per listener port)."""

HEALTHY = "healthy"
NO_TARGETS_REASON = "no target is registered with the load balancer"


@dataclass(frozen=True)
class TargetState:
    """One registered target as ELB sees it. `state`: AWS's `TargetHealth.State` (healthy,
    unhealthy, initial, unused, draining, unavailable), with AWS's reason code and words."""

    target_group_arn: str
    target_id: str
    port: int | None
    state: str
    reason: str | None = None
    description: str | None = None

    @property
    def healthy(self) -> bool:
        """Whether the load balancer sends connections to this target."""
        return self.state == HEALTHY

    @property
    def name(self) -> str:
        """The target as a person reads it: `i-0abc:4000`."""
        return f"{self.target_id}:{self.port}" if self.port else self.target_id


@dataclass(frozen=True)
class BalancerHealth:
    """The targets behind one load balancer."""

    load_balancer_arn: str
    targets: tuple[TargetState, ...]

    @property
    def healthy(self) -> int:
        """How many targets are healthy."""
        return sum(target.healthy for target in self.targets)

    @property
    def total(self) -> int:
        """How many targets are registered."""
        return len(self.targets)

    @property
    def reason(self) -> str:
        """Why the first unhealthy target is not healthy, in AWS's words, or that none is
        registered; empty when every target is healthy."""
        if not self.targets:
            return NO_TARGETS_REASON
        for target in self.targets:
            if not target.healthy:
                why = target.description or target.reason or target.state
                return f"{target.name} is {target.state}: {why}"
        return ""


def read_target_health(
    client: ElasticLoadBalancingv2Client,
    *,
    load_balancer_arn: str,
    port: int | None,
    calls: RegionCalls,
) -> BalancerHealth:
    """The targets behind a load balancer: those of its target groups on `port` (the port
    clients connect to) when it has any, else of all its groups, so that a healthy group on
    another port (a status page) cannot hide the cluster's. A load balancer AWS does not know
    raises its `AwsError` (code `LoadBalancerNotFound`), as any other failure."""
    with calls.call():
        groups = client.describe_target_groups(
            LoadBalancerArn=load_balancer_arn, PageSize=TARGET_GROUPS_READ
        )["TargetGroups"][:TARGET_GROUPS_READ]
    on_port = [group for group in groups if port is not None and group.get("Port") == port]
    targets: list[TargetState] = []
    for group in on_port or groups:
        group_arn = group.get("TargetGroupArn", "")
        with calls.call():
            described = client.describe_target_health(TargetGroupArn=group_arn)
        targets += [
            _target(group_arn, item) for item in described.get("TargetHealthDescriptions", [])
        ]
    return BalancerHealth(load_balancer_arn, tuple(targets))


def _target(group_arn: str, item: TargetHealthDescriptionTypeDef) -> TargetState:
    target = item.get("Target", {})
    health = item.get("TargetHealth", {})
    return TargetState(
        target_group_arn=group_arn,
        target_id=target.get("Id", ""),
        port=target.get("Port"),
        state=health.get("State", "unavailable"),
        reason=health.get("Reason"),
        description=health.get("Description"),
    )
