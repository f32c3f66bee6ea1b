"""Networks to run PrivateLink against: a cluster's provider side and a consumer's VPC.

`seed_provider_network` and `seed_consumer_network` go through the AWS API (boto3 clients),
so they work in-process and against the HTTP server alike. `seed_connections` writes many
connection requests straight into moto's state (in the process that runs the local AWS),
for tests that need thousands of them; reading them back still goes through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.ec2.exceptions import UnknownVpcEndpointService
from moto.ec2.models import ec2_backends
from moto.ec2.models.vpcs import VPCEndPoint

from sandbox.aws import model
from sandbox.aws.settings import LOCK

IMAGE_ID = "ami-12c6146b"  # one of the images moto knows by default

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client


@dataclass(frozen=True)
class ProviderNetwork:
    """A cluster's VPC, its subnets and their AZ ids, its internal network load balancer, and
    the target group (TCP `port`) of its instances, one per subnet, healthy while running."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    az_ids: tuple[str, ...]
    nlb_arn: str
    target_group_arn: str = ""
    instance_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConsumerNetwork:
    """A user's VPC: subnets in the service's AZs, and one subnet in an AZ it does not cover."""

    vpc_id: str
    subnet_ids: tuple[str, ...]
    az_ids: tuple[str, ...]
    uncovered_subnet_id: str
    uncovered_az_id: str


def zone_ids(ec2: EC2Client) -> list[str]:
    """The region's Availability Zone ids, sorted (`usw2-az1`, `usw2-az2`, …)."""
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    return sorted(zone["ZoneId"] for zone in zones if "ZoneId" in zone)


def seed_provider_network(
    *,
    ec2: EC2Client,
    elbv2: ElasticLoadBalancingv2Client,
    cluster_name: str,
    az_count: int = 2,
    cidr_prefix: str = "10.0",
    port: int = 4000,
) -> ProviderNetwork:
    """A VPC with one subnet in each of the first `az_count` AZs, an internal NLB over them
    and a TCP listener on `port` forwarding to one running instance in each subnet."""
    az_ids = tuple(zone_ids(ec2)[:az_count])
    vpc_id = ec2.create_vpc(CidrBlock=f"{cidr_prefix}.0.0/16")["Vpc"]["VpcId"]
    subnet_ids = tuple(
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"{cidr_prefix}.{index}.0/24", AvailabilityZoneId=az_id
        )["Subnet"]["SubnetId"]
        for index, az_id in enumerate(az_ids, start=1)
    )
    balancer = elbv2.create_load_balancer(
        Name=cluster_name[:32].strip("-") or "cluster",
        Subnets=list(subnet_ids),
        Scheme="internal",
        Type="network",
        Tags=[{"Key": "privatelink-bot:cluster", "Value": cluster_name}],
    )["LoadBalancers"][0]
    nlb_arn = balancer["LoadBalancerArn"]
    group_arn = elbv2.create_target_group(
        Name=f"{cluster_name[:24].strip('-') or 'cluster'}-{port}",
        Protocol="TCP",
        Port=port,
        VpcId=vpc_id,
        TargetType="instance",
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=nlb_arn,
        Protocol="TCP",
        Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group_arn}],
    )
    instance_ids = tuple(
        ec2.run_instances(ImageId=IMAGE_ID, MinCount=1, MaxCount=1, SubnetId=subnet_id)[
            "Instances"
        ][0]["InstanceId"]
        for subnet_id in subnet_ids
    )
    elbv2.register_targets(
        TargetGroupArn=group_arn, Targets=[{"Id": i, "Port": port} for i in instance_ids]
    )
    return ProviderNetwork(vpc_id, subnet_ids, az_ids, nlb_arn, group_arn, instance_ids)


def seed_consumer_network(
    *,
    ec2: EC2Client,
    covered_az_ids: tuple[str, ...] | list[str],
    dns_hostnames: bool = True,
    cidr_prefix: str = "10.1",
) -> ConsumerNetwork:
    """A VPC with a subnet in each covered AZ and one in the first AZ that is not covered.

    DNS resolution is on; DNS hostnames are on unless `dns_hostnames=False` (AWS's default
    for a new VPC), which makes enabling private DNS fail.
    """
    uncovered = next(az for az in zone_ids(ec2) if az not in covered_az_ids)
    vpc_id = ec2.create_vpc(CidrBlock=f"{cidr_prefix}.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": dns_hostnames})
    subnets = [
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"{cidr_prefix}.{index}.0/24", AvailabilityZoneId=az_id
        )["Subnet"]["SubnetId"]
        for index, az_id in enumerate([*covered_az_ids, uncovered], start=1)
    ]
    return ConsumerNetwork(
        vpc_id, tuple(subnets[:-1]), tuple(covered_az_ids), subnets[-1], uncovered
    )


def seed_connections(
    *,
    region: str,
    service_id: str,
    count: int,
    consumer_account_id: str,
    state: str = model.PENDING_ACCEPTANCE,
) -> list[str]:
    """Create `count` interface endpoints to a service directly in moto's state; their ids.

    Much faster than `create_vpc_endpoint` calls; only for the process running the local AWS.
    """
    with LOCK:
        service = next(
            (
                s
                for backend in model.region_backends(region)
                for s in backend.configurations.values()
                if s.id == service_id
            ),
            None,
        )
        if service is None:
            raise UnknownVpcEndpointService(service_id)
        consumer = ec2_backends[consumer_account_id][region]
        vpc = consumer.create_vpc(cidr_block="10.250.0.0/16")
        endpoint_class: Any = VPCEndPoint  # moto's model, abstract only to type checkers
        endpoint_ids = []
        for _ in range(count):
            endpoint = endpoint_class(
                consumer,
                model.hex_id("vpce"),
                vpc.id,
                service.service_name,
                "Interface",
                None,
                [],
                subnet_ids=[],
            )
            model.attach(endpoint, service, private_dns=False)
            endpoint.state = state
            consumer.vpc_end_points[endpoint.id] = endpoint
            endpoint_ids.append(endpoint.id)
    return endpoint_ids
