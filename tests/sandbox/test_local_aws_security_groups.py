"""Security groups on interface endpoints in the local AWS, as AWS takes them: recorded on the
endpoint, checked to exist in the endpoint's VPC, and the VPC's default group when none is given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from sandbox.aws import ConsumerNetwork, ProviderNetwork
from tests.aws_fixtures import CONSUMER_ACCOUNT

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


@pytest.fixture
def service_name(provider_ec2: EC2Client, provider_network: ProviderNetwork) -> str:
    """A service the consumer account may connect to."""
    created = provider_ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[provider_network.nlb_arn], AcceptanceRequired=True
    )["ServiceConfiguration"]
    provider_ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=created["ServiceId"],
        AddAllowedPrincipals=[f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"],
    )
    return str(created["ServiceName"])


def create(ec2: EC2Client, network: ConsumerNetwork, service_name: str, **extra: Any) -> Any:
    return ec2.create_vpc_endpoint(
        VpcId=network.vpc_id,
        ServiceName=service_name,
        VpcEndpointType="Interface",
        SubnetIds=list(network.subnet_ids),
        **extra,
    )["VpcEndpoint"]


def test_the_groups_given_are_recorded(
    consumer_ec2: EC2Client, consumer_network: ConsumerNetwork, service_name: str
) -> None:
    ids = [
        consumer_ec2.create_security_group(
            GroupName=name, Description="db clients", VpcId=consumer_network.vpc_id
        )["GroupId"]
        for name in ("one", "two")
    ]
    created = create(consumer_ec2, consumer_network, service_name, SecurityGroupIds=ids)
    assert [g["GroupId"] for g in created["Groups"]] == ids
    [described] = consumer_ec2.describe_vpc_endpoints(VpcEndpointIds=[created["VpcEndpointId"]])[
        "VpcEndpoints"
    ]
    assert [(g["GroupId"], g["GroupName"]) for g in described["Groups"]] == [
        (ids[0], "one"),
        (ids[1], "two"),
    ]


def test_without_groups_the_endpoint_gets_the_vpcs_default_group(
    consumer_ec2: EC2Client, consumer_network: ConsumerNetwork, service_name: str
) -> None:
    created = create(consumer_ec2, consumer_network, service_name)
    [group] = created["Groups"]
    assert group["GroupName"] == "default"
    [default] = consumer_ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [consumer_network.vpc_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    assert group["GroupId"] == default["GroupId"]


def test_an_unknown_group_is_refused(
    consumer_ec2: EC2Client, consumer_network: ConsumerNetwork, service_name: str
) -> None:
    with pytest.raises(ClientError) as refused:
        create(
            consumer_ec2, consumer_network, service_name, SecurityGroupIds=["sg-0123456789abcdef0"]
        )
    assert refused.value.response["Error"]["Code"] == "InvalidGroup.NotFound"
    assert consumer_ec2.describe_vpc_endpoints()["VpcEndpoints"] == []


def test_a_group_of_another_vpc_is_refused(
    consumer_ec2: EC2Client, consumer_network: ConsumerNetwork, service_name: str
) -> None:
    other_vpc = consumer_ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    group_id = consumer_ec2.create_security_group(
        GroupName="elsewhere", Description="another VPC", VpcId=other_vpc
    )["GroupId"]
    with pytest.raises(ClientError) as refused:
        create(consumer_ec2, consumer_network, service_name, SecurityGroupIds=[group_id])
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidParameter"
    assert error["Message"] == (
        f"Security group {group_id} and subnet {consumer_network.subnet_ids[0]} belong to "
        "different networks."
    )
