"""The health of the targets behind a cluster's load balancer, read by the gateway from the
local AWS (moto's ELBv2: a running instance is healthy, a stopped one `unused`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bot.aws.errors import RegionUnreachable
from bot.aws.privatelink import PrivateLinkGateway
from bot.aws.target_health import NO_TARGETS_REASON
from bot.domain.errors import AwsError
from bot.observability import watch_aws_client
from sandbox.aws import ProviderNetwork, provider_credentials
from sandbox.aws.seed import IMAGE_ID
from tests.aws_fixtures import NO_RETRIES, REGION, metric, unused_loopback_url

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client


@pytest.fixture
def elbv2(aws_url: str) -> ElasticLoadBalancingv2Client:
    return provider_credentials().elbv2(region=REGION, endpoint_url=aws_url, config=NO_RETRIES)


def test_every_target_of_a_seeded_cluster_is_healthy(
    gateway: PrivateLinkGateway, provider_network: ProviderNetwork
) -> None:
    balancer = gateway.target_health(load_balancer_arn=provider_network.nlb_arn, port=4000)

    assert (balancer.healthy, balancer.total) == (2, 2)
    assert balancer.reason == ""
    assert {t.target_id for t in balancer.targets} == set(provider_network.instance_ids)
    assert {t.port for t in balancer.targets} == {4000}


def test_stopped_instances_are_unhealthy_with_aws_reason(
    gateway: PrivateLinkGateway, provider_network: ProviderNetwork, provider_ec2: EC2Client
) -> None:
    provider_ec2.stop_instances(InstanceIds=[provider_network.instance_ids[0]])

    balancer = gateway.target_health(load_balancer_arn=provider_network.nlb_arn, port=4000)

    assert (balancer.healthy, balancer.total) == (1, 2)
    stopped = next(t for t in balancer.targets if not t.healthy)
    assert (stopped.state, stopped.reason) == ("unused", "Target.InvalidState")
    assert balancer.reason == (
        f"{provider_network.instance_ids[0]}:4000 is unused: Target is in the stopped state"
    )


def test_a_balancer_with_every_target_deregistered_has_none_healthy(
    gateway: PrivateLinkGateway,
    provider_network: ProviderNetwork,
    elbv2: ElasticLoadBalancingv2Client,
) -> None:
    elbv2.deregister_targets(
        TargetGroupArn=provider_network.target_group_arn,
        Targets=[{"Id": i, "Port": 4000} for i in provider_network.instance_ids],
    )

    balancer = gateway.target_health(load_balancer_arn=provider_network.nlb_arn, port=4000)

    assert (balancer.healthy, balancer.total) == (0, 0)
    assert balancer.reason == NO_TARGETS_REASON


def test_a_balancer_costs_one_call_and_one_per_target_group(
    provider_ec2: EC2Client,
    elbv2: ElasticLoadBalancingv2Client,
    provider_network: ProviderNetwork,
) -> None:
    watch_aws_client(elbv2)
    gateway = PrivateLinkGateway(provider_ec2, balancers=lambda: elbv2)
    groups = metric("privatelink_aws_calls_total", operation="DescribeTargetGroups", outcome="ok")
    health = metric("privatelink_aws_calls_total", operation="DescribeTargetHealth", outcome="ok")

    gateway.target_health(load_balancer_arn=provider_network.nlb_arn, port=4000)

    assert (
        metric("privatelink_aws_calls_total", operation="DescribeTargetGroups", outcome="ok")
        == groups + 1
    )
    assert (
        metric("privatelink_aws_calls_total", operation="DescribeTargetHealth", outcome="ok")
        == health + 1
    )


def test_an_unknown_balancer_is_an_explained_aws_error(gateway: PrivateLinkGateway) -> None:
    arn = f"arn:aws:elasticloadbalancing:{REGION}:123456789012:loadbalancer/net/gone/0123abcd"

    with pytest.raises(AwsError) as raised:
        gateway.target_health(load_balancer_arn=arn, port=4000)

    assert raised.value.code == "LoadBalancerNotFound"
    assert "load balancer was not found" in str(raised.value)


def test_an_unreachable_elb_stops_health_reads_in_the_pass_not_ec2s(aws_url: str) -> None:
    """ELB has its own guard: a pass whose ELB cannot be reached (no interface endpoint for it
    in the bot's VPC, an ELB outage) still reads and changes endpoint services."""
    keys = provider_credentials()
    gateway = PrivateLinkGateway(
        keys.ec2(region=REGION, endpoint_url=aws_url, config=NO_RETRIES),
        balancers=lambda: keys.elbv2(
            region=REGION, endpoint_url=unused_loopback_url(), config=NO_RETRIES
        ),
    ).for_pass()
    arn = f"arn:aws:elasticloadbalancing:{REGION}:123456789012:loadbalancer/net/x/0123abcd"

    with pytest.raises(AwsError) as first:
        gateway.target_health(load_balancer_arn=arn, port=4000)
    assert first.value.retryable
    with pytest.raises(RegionUnreachable):
        gateway.target_health(load_balancer_arn=arn, port=4000)
    assert gateway.list_services() == []  # EC2 goes on


def test_an_unreachable_region_stops_health_reads_in_the_pass() -> None:
    url, keys = unused_loopback_url(), provider_credentials()
    gateway = PrivateLinkGateway(
        keys.ec2(region=REGION, endpoint_url=url, config=NO_RETRIES),
        balancers=lambda: keys.elbv2(region=REGION, endpoint_url=url, config=NO_RETRIES),
    ).for_pass()
    arn = f"arn:aws:elasticloadbalancing:{REGION}:123456789012:loadbalancer/net/x/0123abcd"

    with pytest.raises(AwsError) as first:
        gateway.target_health(load_balancer_arn=arn, port=4000)
    assert first.value.retryable
    with pytest.raises(RegionUnreachable):
        gateway.target_health(load_balancer_arn=arn, port=4000)


def test_a_gateway_without_a_balancer_client_says_so(provider_ec2: EC2Client) -> None:
    with pytest.raises(RuntimeError, match="load balancer client"):
        PrivateLinkGateway(provider_ec2).target_health(load_balancer_arn="arn", port=None)


def test_only_the_groups_on_the_clusters_port_count_when_there_are_any(
    gateway: PrivateLinkGateway,
    provider_network: ProviderNetwork,
    provider_ec2: EC2Client,
    elbv2: ElasticLoadBalancingv2Client,
) -> None:
    """A healthy group behind another listener (a status port) cannot hide that every target
    on the port clients connect to is down."""
    status = elbv2.create_target_group(
        Name="status-8080", Protocol="TCP", Port=8080, VpcId=provider_network.vpc_id
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=provider_network.nlb_arn,
        Protocol="TCP",
        Port=8080,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": status}],
    )
    spare = provider_ec2.run_instances(
        ImageId=IMAGE_ID, MinCount=1, MaxCount=1, SubnetId=provider_network.subnet_ids[0]
    )["Instances"][0]["InstanceId"]
    elbv2.register_targets(TargetGroupArn=status, Targets=[{"Id": spare, "Port": 8080}])
    provider_ec2.stop_instances(InstanceIds=list(provider_network.instance_ids))

    on_port = gateway.target_health(load_balancer_arn=provider_network.nlb_arn, port=4000)
    assert (on_port.healthy, on_port.total) == (0, 2)
    every = gateway.target_health(load_balancer_arn=provider_network.nlb_arn, port=5432)
    assert (every.healthy, every.total) == (1, 3), "no group on that port: all of them"
