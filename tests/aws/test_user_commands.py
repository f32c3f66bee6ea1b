"""The commands the bot shows the user work, run with the real `aws` CLI against the local AWS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.aws.privatelink import PrivateLinkGateway, ServiceInfo
from bot.domain.commands import create_endpoint_argv, modify_endpoint_argv
from sandbox.aws import ConsumerNetwork, Credentials, ProviderNetwork
from tests.aws_fixtures import CONSUMER_ACCOUNT, REGION, error_from_cli_output, run_aws_cli

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


@pytest.fixture
def service(gateway: PrivateLinkGateway, provider_network: ProviderNetwork) -> ServiceInfo:
    """The cluster's service as the wizard sets it up: private DNS name, consumer allowed."""
    created = gateway.ensure_service(
        cluster_id="cluster-1",
        cluster_name="orders-db",
        nlb_arn=provider_network.nlb_arn,
        client_token="privatelink-bot-cluster-1-1",
        private_dns_name="orders.db.example.com",
    )
    gateway.allow_account(service_id=created.service_id, account_id=CONSUMER_ACCOUNT)
    return created


def test_create_accept_and_enable_private_dns(
    aws_url: str,
    tmp_path: Path,
    gateway: PrivateLinkGateway,
    consumer: Credentials,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
) -> None:
    create = create_endpoint_argv(
        vpc_id=consumer_network.vpc_id,
        region=REGION,
        service_name=service.service_name,
        subnet_ids=consumer_network.subnet_ids,
    )

    created = run_aws_cli(create, url=aws_url, credentials=consumer, home=tmp_path)

    assert created.returncode == 0, created.stderr
    vpce_id = json.loads(created.stdout)["VpcEndpoint"]["VpcEndpointId"]
    [request] = gateway.list_connections(service_ids=[service.service_id])
    assert (request.vpce_id, request.owner_account, request.state) == (
        vpce_id,
        CONSUMER_ACCOUNT,
        "pendingAcceptance",
    )

    assert gateway.accept_connections(service_id=service.service_id, vpce_ids=[vpce_id]) == []
    assert [c.state for c in gateway.list_connections()] == ["available"]

    modify = modify_endpoint_argv(vpce_id=vpce_id, region=REGION)
    too_early = run_aws_cli(modify, url=aws_url, credentials=consumer, home=tmp_path)
    assert too_early.returncode != 0
    explained = error_from_cli_output(too_early.stderr)
    assert explained is not None and "has not been verified yet" in str(explained)

    gateway.start_dns_verification(service_id=service.service_id)
    enabled = run_aws_cli(modify, url=aws_url, credentials=consumer, home=tmp_path)

    assert enabled.returncode == 0, enabled.stderr
    assert json.loads(enabled.stdout) == {"Return": True}
    endpoint = consumer_ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce_id])["VpcEndpoints"][0]
    assert endpoint["State"] == "available"
    assert endpoint["PrivateDnsEnabled"] is True


def test_a_subnet_in_an_unsupported_az_gets_an_explained_error(
    aws_url: str,
    tmp_path: Path,
    consumer: Credentials,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
) -> None:
    create = create_endpoint_argv(
        vpc_id=consumer_network.vpc_id,
        region=REGION,
        service_name=service.service_name,
        subnet_ids=[consumer_network.subnet_ids[0], consumer_network.uncovered_subnet_id],
    )

    result = run_aws_cli(create, url=aws_url, credentials=consumer, home=tmp_path)

    assert result.returncode != 0
    assert (
        f"The VPC endpoint service {service.service_id} does not support the availability zone "
        f"of the subnet: {consumer_network.uncovered_subnet_id}."
    ) in result.stderr
    explained = error_from_cli_output(result.stderr, supported_az_ids=service.az_ids)
    assert explained is not None and explained.code == "InvalidParameter"
    assert consumer_network.uncovered_subnet_id in str(explained)
    assert "usw2-az1, usw2-az2" in str(explained)
