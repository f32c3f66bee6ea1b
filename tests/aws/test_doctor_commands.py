"""The doctor's checks on the user's side, exactly as built, run in a shell with the real `aws`
CLI against the local AWS as the user's own account: the endpoint's private DNS and groups, and
whether those groups admit the cluster's port (the rule, or `[]`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from bot.aws.privatelink import ServiceInfo
from bot.domain.user_side_checks import endpoint_check, security_group_check
from sandbox.aws import ConsumerNetwork, Credentials
from tests.aws.test_user_side_commands import run_shell, service  # noqa: F401 (fixture)
from tests.aws_fixtures import REGION

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

PORT = 4000


def group(ec2: EC2Client, network: ConsumerNetwork, name: str, *, admits: int | None) -> str:
    """A security group in the user's VPC, admitting TCP `admits` from the VPC (or nothing)."""
    group_id = ec2.create_security_group(GroupName=name, Description=name, VpcId=network.vpc_id)[
        "GroupId"
    ]
    if admits is not None:
        ec2.authorize_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": admits,
                    "ToPort": admits,
                    "IpRanges": [{"CidrIp": "10.1.0.0/16"}],
                }
            ],
        )
    return group_id


def endpoint_with(ec2: EC2Client, network: ConsumerNetwork, to: ServiceInfo, sg: str) -> str:
    """The user's interface endpoint to the service, with one security group; its id."""
    return ec2.create_vpc_endpoint(
        VpcId=network.vpc_id,
        ServiceName=to.service_name,
        VpcEndpointType="Interface",
        SubnetIds=list(network.subnet_ids),
        SecurityGroupIds=[sg],
    )["VpcEndpoint"]["VpcEndpointId"]


def test_the_endpoint_check_prints_its_state_private_dns_and_groups(
    aws_url: str,
    tmp_path: Path,
    consumer: Credentials,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,  # noqa: F811
) -> None:
    sg = group(consumer_ec2, consumer_network, "db-clients", admits=PORT)
    vpce = endpoint_with(consumer_ec2, consumer_network, service, sg)
    check = endpoint_check(vpce_id=vpce, region=REGION)

    out = run_shell(check.command, url=aws_url, credentials=consumer, home=tmp_path)

    assert json.loads(out) == {"State": "pendingAcceptance", "PrivateDns": False, "Groups": [sg]}
    assert '"PrivateDns": false' in check.bad  # the answer it shows, and its fix


def test_the_group_check_finds_the_rule_for_the_port_or_prints_an_empty_list(
    aws_url: str,
    tmp_path: Path,
    consumer: Credentials,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,  # noqa: F811
) -> None:
    admitting = group(consumer_ec2, consumer_network, "db-clients", admits=PORT)
    other_port = group(consumer_ec2, consumer_network, "web", admits=443)
    for sg, admitted in [(admitting, True), (other_port, False)]:
        vpce = endpoint_with(consumer_ec2, consumer_network, service, sg)
        # the groups read from the endpoint in the same line, as when the wizard was given none
        read = security_group_check(vpce_id=vpce, region=REGION, port=PORT)
        given = security_group_check(
            vpce_id=vpce, region=REGION, port=PORT, security_group_ids=[sg]
        )
        for check in (read, given):
            rules = json.loads(
                run_shell(check.command, url=aws_url, credentials=consumer, home=tmp_path)
            )
            if admitted:
                assert [(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in rules] == [
                    ("tcp", PORT, PORT)
                ]
                assert rules[0]["IpRanges"][0]["CidrIp"] == "10.1.0.0/16"
            else:
                assert rules == []
                assert check.bad.startswith("`[]`: no group of the endpoint admits port 4000")
