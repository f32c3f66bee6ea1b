"""The one paste, run as a person runs it: the block the modal shows, in real bash with the real
`aws` CLI, as the user's own account against the local AWS. The provider's side (accepting the
request) is played here by the bot's gateway; tests/e2e runs it with the whole bot."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.aws.privatelink import PrivateLinkGateway, ServiceInfo
from bot.domain.commands import rule_description
from bot.domain.endpoint_script import endpoint_script
from bot.domain.iac import EndpointValues
from sandbox.aws import (
    ConsumerNetwork,
    Credentials,
    ProviderNetwork,
    credentials_for_account,
)
from tests.aws_fixtures import AWS_CLI, CONSUMER_ACCOUNT, OTHER_ACCOUNT, REGION, ec2_client

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

PORT = 4000
HOST = "orders.us-west-2.privatelink.example.com"
NAME = "privatelink-orders-7"


@pytest.fixture
def service(gateway: PrivateLinkGateway, provider_network: ProviderNetwork) -> ServiceInfo:
    """The cluster's service as the bot sets it up, with a private DNS name and the consumer
    allowed."""
    created = gateway.ensure_service(
        cluster_id="cluster-1",
        cluster_name="orders",
        nlb_arn=provider_network.nlb_arn,
        client_token="privatelink-bot-cluster-1-1",
        private_dns_name=HOST,
    )
    gateway.allow_account(service_id=created.service_id, account_id=CONSUMER_ACCOUNT)
    [ready] = gateway.list_services(service_ids=[created.service_id])
    return ready


def block(service: ServiceInfo, vpc_id: str, **given: tuple[str, ...]) -> str:
    """The block the modal shows for endpoint #7 of cluster orders."""
    return endpoint_script(
        EndpointValues(
            endpoint_id=7,
            cluster_name="orders",
            port=PORT,
            region=REGION,
            service_name=service.service_name,
            vpc_id=vpc_id,
            account_id=CONSUMER_ACCOUNT,
            az_ids=service.az_ids,
            host=HOST,
            subnet_ids=given.get("subnets", ()),
            security_group_ids=given.get("groups", ()),
        )
    )


def paste(
    script: str, *, url: str, credentials: Credentials, home: Path
) -> subprocess.CompletedProcess[str]:
    """The block pasted into a non-interactive bash, as its account, with the `aws` CLI."""
    return subprocess.run(
        ["bash", "-c", script],
        env=_env(url, credentials, home),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _env(url: str, credentials: Credentials, home: Path) -> dict[str, str]:
    return {
        "PATH": f"{Path(AWS_CLI).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(home),
        "AWS_ENDPOINT_URL": url,
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_MAX_ATTEMPTS": "1",
        **credentials.env(),
    }


@contextmanager
def provider_deciding(
    gateway: PrivateLinkGateway, service: ServiceInfo, *, accept: bool = True
) -> Iterator[list[str]]:
    """The provider accepting (or rejecting) each connection request while the block runs; the
    vpce ids it decided."""
    decided: list[str] = []
    stop = threading.Event()

    def decide() -> None:
        while not stop.wait(0.3):
            waiting = [
                c.vpce_id
                for c in gateway.list_connections(service_ids=[service.service_id])
                if c.state == "pendingAcceptance"
            ]
            if waiting:
                act = gateway.accept_connections if accept else gateway.reject_connections
                act(service_id=service.service_id, vpce_ids=waiting)
                decided.extend(waiting)

    thread = threading.Thread(target=decide, daemon=True)
    thread.start()
    try:
        yield decided
    finally:
        stop.set()
        thread.join(timeout=10)


def endpoints(ec2: EC2Client) -> list[dict[str, object]]:
    return [dict(e) for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]]


def groups_named(ec2: EC2Client, name: str) -> list[dict[str, object]]:
    found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])
    return [dict(g) for g in found["SecurityGroups"]]


def test_one_paste_makes_everything_and_a_second_paste_makes_nothing_more(
    aws_url: str,
    tmp_path: Path,
    consumer: Credentials,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    gateway: PrivateLinkGateway,
    service: ServiceInfo,
) -> None:
    gateway.start_dns_verification(service_id=service.service_id)  # the sandbox verifies it
    script = block(service, consumer_network.vpc_id)

    with provider_deciding(gateway, service) as accepted:
        first = paste(script, url=aws_url, credentials=consumer, home=tmp_path)
    assert first.returncode == 0, first.stderr
    [endpoint] = endpoints(consumer_ec2)
    vpce = str(endpoint["VpcEndpointId"])
    assert accepted == [vpce]
    assert endpoint["State"] == "available" and endpoint["PrivateDnsEnabled"] is True
    assert sorted(endpoint["SubnetIds"]) == sorted(consumer_network.subnet_ids)  # type: ignore[call-overload]
    assert consumer_network.uncovered_subnet_id not in endpoint["SubnetIds"]  # type: ignore[operator]
    assert endpoint["Tags"] == [{"Key": "Name", "Value": NAME}]
    [group] = groups_named(consumer_ec2, NAME)
    assert endpoint["Groups"] == [{"GroupId": group["GroupId"], "GroupName": NAME}]
    cidr = consumer_ec2.describe_vpcs(VpcIds=[consumer_network.vpc_id])["Vpcs"][0]["CidrBlock"]
    [rule] = group["IpPermissions"]  # type: ignore[misc]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", PORT, PORT)
    assert rule["IpRanges"] == [{"CidrIp": cidr, "Description": rule_description_of()}]
    assert f"Done: {vpce} is available with private DNS. Connect to {HOST} port {PORT}." in (
        first.stdout
    )

    again = paste(script, url=aws_url, credentials=consumer, home=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [e["VpcEndpointId"] for e in endpoints(consumer_ec2)] == [vpce]
    [same] = groups_named(consumer_ec2, NAME)
    assert same["GroupId"] == group["GroupId"] and same["IpPermissions"] == group["IpPermissions"]
    assert f"Done: {vpce} is available with private DNS" in again.stdout


def rule_description_of() -> str:
    return rule_description(cluster_name="orders", port=PORT, endpoint_id=7)


def test_without_a_verified_name_it_says_when_private_dns_will_work(
    aws_url: str,
    tmp_path: Path,
    consumer: Credentials,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    gateway: PrivateLinkGateway,
    service: ServiceInfo,
) -> None:
    with provider_deciding(gateway, service):
        done = paste(
            block(service, consumer_network.vpc_id),
            url=aws_url,
            credentials=consumer,
            home=tmp_path,
        )
    assert done.returncode == 0, done.stderr
    [endpoint] = endpoints(consumer_ec2)
    assert endpoint["PrivateDnsEnabled"] is False
    assert f"{HOST} works once the provider has verified its domain" in done.stdout
    assert (
        f"aws ec2 modify-vpc-endpoint --region {REGION} --vpc-endpoint-id "
        f"{endpoint['VpcEndpointId']} --private-dns-enabled" in done.stdout
    )


def test_credentials_of_another_account_stop_it_before_anything_is_made(
    aws_url: str,
    tmp_path: Path,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
) -> None:
    other = credentials_for_account(account_id=OTHER_ACCOUNT, endpoint_url=aws_url, region=REGION)
    done = paste(
        block(service, consumer_network.vpc_id), url=aws_url, credentials=other, home=tmp_path
    )
    assert done.returncode != 0
    assert (
        f"Stopped: these credentials are of account {OTHER_ACCOUNT}, not {CONSUMER_ACCOUNT}. "
        "Nothing was created." in done.stderr
    )
    other_ec2 = ec2_client(other, aws_url)
    assert endpoints(consumer_ec2) == endpoints(other_ec2) == []
    assert groups_named(consumer_ec2, NAME) == groups_named(other_ec2, NAME) == []


def test_a_vpc_without_dns_hostnames_stops_with_the_command_that_fixes_it(
    aws_url: str,
    tmp_path: Path,
    consumer: Credentials,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
) -> None:
    consumer_ec2.modify_vpc_attribute(
        VpcId=consumer_network.vpc_id, EnableDnsHostnames={"Value": False}
    )
    done = paste(
        block(service, consumer_network.vpc_id), url=aws_url, credentials=consumer, home=tmp_path
    )
    assert done.returncode != 0
    assert (
        f"Stopped: enableDnsHostnames is off on {consumer_network.vpc_id}. Nothing was created. "
        f"Turn it on, then paste again: aws ec2 modify-vpc-attribute --region {REGION} "
        f"--vpc-id {consumer_network.vpc_id} --enable-dns-hostnames Value=true" in done.stderr
    )
    assert endpoints(consumer_ec2) == [] and groups_named(consumer_ec2, NAME) == []


def test_a_vpc_without_a_subnet_in_the_supported_zones_stops_naming_them(
    aws_url: str,
    tmp_path: Path,
    consumer: Credentials,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
) -> None:
    vpc = consumer_ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    consumer_ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    consumer_ec2.create_subnet(
        VpcId=vpc, CidrBlock="10.7.1.0/24", AvailabilityZoneId=consumer_network.uncovered_az_id
    )
    done = paste(block(service, vpc), url=aws_url, credentials=consumer, home=tmp_path)
    assert done.returncode != 0
    zones = ",".join(service.az_ids)
    assert (
        f"Stopped: {vpc} has no subnet in {zones}, the AZ IDs the service supports. "
        "Nothing was created." in done.stderr
    )
    assert endpoints(consumer_ec2) == [] and groups_named(consumer_ec2, NAME) == []


def test_a_rejected_connection_stops_the_wait_with_its_state(
    aws_url: str,
    tmp_path: Path,
    consumer: Credentials,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    gateway: PrivateLinkGateway,
    service: ServiceInfo,
) -> None:
    with provider_deciding(gateway, service, accept=False) as rejected:
        done = paste(
            block(service, consumer_network.vpc_id),
            url=aws_url,
            credentials=consumer,
            home=tmp_path,
        )
    assert done.returncode != 0
    [vpce] = rejected
    assert f"Stopped: {vpce} is rejected on AWS" in done.stderr
    assert "the project's channel in Slack says why" in done.stderr


def test_the_users_own_subnets_and_groups_are_used_as_given(
    aws_url: str,
    tmp_path: Path,
    consumer: Credentials,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    gateway: PrivateLinkGateway,
    service: ServiceInfo,
) -> None:
    mine = consumer_ec2.create_security_group(
        GroupName="db-clients", Description="mine", VpcId=consumer_network.vpc_id
    )["GroupId"]
    subnet = consumer_network.subnet_ids[0]
    script = block(service, consumer_network.vpc_id, subnets=(subnet,), groups=(mine,))
    with provider_deciding(gateway, service):
        done = paste(script, url=aws_url, credentials=consumer, home=tmp_path)
    assert done.returncode == 0, done.stderr
    [endpoint] = endpoints(consumer_ec2)
    assert endpoint["SubnetIds"] == [subnet]
    assert [g["GroupId"] for g in endpoint["Groups"]] == [mine]  # type: ignore[attr-defined]
    assert groups_named(consumer_ec2, NAME) == []


def test_pasted_into_an_interactive_shell_it_expands_nothing_and_leaves_the_shell_open(
    aws_url: str,
    tmp_path: Path,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
) -> None:
    """A person's terminal: history expansion on, and a failing block must not close it."""
    other = credentials_for_account(account_id=OTHER_ACCOUNT, endpoint_url=aws_url, region=REGION)
    typed = block(service, consumer_network.vpc_id) + '\necho "shell still open: $?"\n'
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-i"],
        input=typed,
        env=_env(aws_url, other, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "shell still open: 1" in done.stdout
    assert "event not found" not in done.stderr
    assert f"not {CONSUMER_ACCOUNT}. Nothing was created." in done.stderr
