"""The commands the modal shows for the user's side, exactly as shown, run in a shell with the
real `aws` CLI against the local AWS as the user's own account: the subnets that fit, and
deleting the endpoint after Terminate (the one block: test_endpoint_script)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.aws.privatelink import PrivateLinkGateway, ServiceInfo
from bot.domain import entities
from bot.domain.states import (
    Cloud,
    ClusterStatus,
    EndpointStatus,
    ServiceStatus,
    Stage,
    Tier,
)
from bot.services.wizard import WizardState
from bot.slack.views.alerts import cleanup_blocks
from bot.slack.views.wizard import wizard_view
from sandbox.aws import ConsumerNetwork, Credentials, ProviderNetwork
from sandbox.demo_support import scripts_in
from tests.aws_fixtures import AWS_CLI, CONSUMER_ACCOUNT, REGION

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

PORT = 4000


@pytest.fixture
def service(gateway: PrivateLinkGateway, provider_network: ProviderNetwork) -> ServiceInfo:
    """The cluster's service as the wizard sets it up, with the consumer allowed."""
    created = gateway.ensure_service(
        cluster_id="cluster-1",
        cluster_name="orders",
        nlb_arn=provider_network.nlb_arn,
        client_token="privatelink-bot-cluster-1-1",
        private_dns_name=None,
    )
    gateway.allow_account(service_id=created.service_id, account_id=CONSUMER_ACCOUNT)
    return created


def state(
    service: ServiceInfo,
    network: ConsumerNetwork | None,
    *,
    stage: Stage = Stage.ACCEPT_ENDPOINT_CONNECTION,
    groups: tuple[str, ...] = (),
) -> WizardState:
    """The wizard of endpoint #7 on `service`, the user's VPC and subnets given (or not)."""
    return WizardState(
        project=entities.Project(id=1, name="payments", channel_id="C0PAYMENTS"),
        channel_id="C0PAYMENTS",
        stage=stage,
        cluster=entities.Cluster(
            id=1,
            project_id=1,
            name="orders",
            tier=Tier.DEDICATED,
            cloud=Cloud.AWS,
            region=REGION,
            status=ClusterStatus.ACTIVE,
            port=PORT,
            private_dns_host="orders.us-west-2.privatelink.example.com",
        ),
        service=entities.EndpointService(
            id=1,
            cluster_id=1,
            status=ServiceStatus.ACTIVE,
            aws_service_id=service.service_id,
            service_name=service.service_name,
            az_ids=tuple(service.az_ids),
            allowed_accounts=(CONSUMER_ACCOUNT,),
        ),
        endpoint=entities.PrivateEndpoint(
            id=7,
            project_id=1,
            cluster_id=1,
            stage=stage,
            status=EndpointStatus.INITIATING if network else EndpointStatus.NOT_CONFIGURED,
            created_by="U0OWNER01",
            account_id=CONSUMER_ACCOUNT,
            vpc_id=network.vpc_id if network else None,
            subnet_ids=network.subnet_ids if network else (),
            security_group_ids=groups,
        ),
    )


def the_script(blocks: list[dict[str, Any]], needle: str) -> str:
    [script] = [s for s in scripts_in({"blocks": blocks}) if needle in s]
    return script


def run_shell(script: str, *, url: str, credentials: Credentials, home: Path) -> str:
    """Run `script` in bash (stopping at the first failure) with the real `aws` CLI, as
    `credentials`' account; what it printed."""
    env = {
        "PATH": f"{Path(AWS_CLI).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "AWS_ENDPOINT_URL": url,
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_MAX_ATTEMPTS": "1",
        **credentials.env(),
    }
    done = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_subnets_command_lists_exactly_the_subnets_in_the_supported_azs(
    aws_url: str,
    tmp_path: Path,
    consumer: Credentials,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
) -> None:
    names = {}
    for index, subnet_id in enumerate(
        [*consumer_network.subnet_ids, consumer_network.uncovered_subnet_id]
    ):
        names[subnet_id] = f"app-{index}"
        consumer_ec2.create_tags(
            Resources=[subnet_id], Tags=[{"Key": "Name", "Value": f"app-{index}"}]
        )
    other_vpc = consumer_ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    consumer_ec2.create_subnet(
        VpcId=other_vpc, CidrBlock="10.9.1.0/24", AvailabilityZoneId=service.az_ids[0]
    )
    view = wizard_view(state(service, consumer_network, stage=Stage.INTERFACE_ENDPOINT))
    command = the_script(view["blocks"], "describe-subnets")

    out = run_shell(command, url=aws_url, credentials=consumer, home=tmp_path)

    zone_of = dict(zip(consumer_network.subnet_ids, consumer_network.az_ids, strict=True))
    assert [line.split("\t") for line in out.splitlines()] == sorted(
        ([subnet, zone_of[subnet], names[subnet]] for subnet in consumer_network.subnet_ids),
        key=lambda row: row[1],
    )


def test_the_delete_command_after_terminate_removes_the_users_endpoint(
    aws_url: str,
    tmp_path: Path,
    consumer: Credentials,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
    gateway: PrivateLinkGateway,
) -> None:
    vpce_id = consumer_ec2.create_vpc_endpoint(
        VpcId=consumer_network.vpc_id,
        ServiceName=service.service_name,
        VpcEndpointType="Interface",
        SubnetIds=list(consumer_network.subnet_ids),
    )["VpcEndpoint"]["VpcEndpointId"]
    assert gateway.reject_connections(service_id=service.service_id, vpce_ids=[vpce_id]) == []
    blocks = cleanup_blocks(vpce_id=vpce_id, region=REGION, cluster="orders", endpoint_id=7)
    command = the_script(blocks, "delete-vpc-endpoints")

    run_shell(command, url=aws_url, credentials=consumer, home=tmp_path)

    [endpoint] = consumer_ec2.describe_vpc_endpoints()["VpcEndpoints"]
    assert endpoint["State"] == "deleted"  # as AWS lists a deleted endpoint for a while
    [connection] = gateway.list_connections(service_ids=[service.service_id])
    assert (connection.vpce_id, connection.state) == (vpce_id, "deleted")
