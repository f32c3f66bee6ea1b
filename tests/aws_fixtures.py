"""Fixtures for tests against the local AWS, imported by tests/sandbox and tests/aws conftests.

One local AWS server runs over HTTP for the whole session (on a free port); every test
starts from an empty AWS and the sandbox's default settings. The provider is moto's default
account; `consumer` acts as another account through STS, as `sandbox.aws.accounts` says.
The `gateway` fixture is the bot's gateway plus reads only tests make (`InspectingGateway`);
`error_from_cli_output` explains an error in what the `aws` CLI printed, as the bot would.
`unused_loopback_url` is an AWS nobody answers at; `metric` reads this process's /metrics text.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from botocore.config import Config
from prometheus_client.parser import text_string_to_metric_families

from bot.aws.errors import explained
from bot.aws.privatelink import PrivateLinkGateway, ServiceInfo
from bot.domain.errors import AwsError
from bot.observability import render
from sandbox.aws import (
    ConsumerNetwork,
    Credentials,
    LocalAwsServer,
    ProviderNetwork,
    credentials_for_account,
    provider_credentials,
    reset,
    seed_consumer_network,
    seed_provider_network,
    start_in_background,
)

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

REGION = "us-west-2"
CONSUMER_ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
AWS_CLI = str(Path(sys.executable).with_name("aws"))
_CLI_ERROR = re.compile(
    r"An error occurred \((?P<code>[A-Za-z0-9.]+)\)(?: when calling the (?P<op>\w+) operation)?"
    r"(?: \(reached max retries: \d+\))?: (?P<message>.*)",
    re.DOTALL,
)


@pytest.fixture(scope="session")
def local_aws_server() -> Iterator[LocalAwsServer]:
    """The local AWS over HTTP for the whole session (without moto's default AMIs: faster)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        with start_in_background() as server:
            yield server


@pytest.fixture
def aws_url(local_aws_server: LocalAwsServer) -> Iterator[str]:
    """The local AWS's URL, emptied and at default settings before and after the test."""
    reset()
    yield local_aws_server.url
    reset()


def ec2_client(credentials: Credentials, url: str, *, region: str = REGION) -> EC2Client:
    """An EC2 client of `credentials` against the local AWS, without retries."""
    return credentials.ec2(region=region, endpoint_url=url, config=NO_RETRIES)


def elbv2_client(
    credentials: Credentials, url: str, *, region: str = REGION
) -> ElasticLoadBalancingv2Client:
    """An ELBv2 client of `credentials` against the local AWS, without retries."""
    return credentials.elbv2(region=region, endpoint_url=url, config=NO_RETRIES)


@pytest.fixture
def provider_ec2(aws_url: str) -> EC2Client:
    """EC2 as the service provider."""
    return ec2_client(provider_credentials(), aws_url)


@pytest.fixture
def provider_network(aws_url: str) -> ProviderNetwork:
    """A cluster's VPC, subnets in two AZs and its internal NLB."""
    provider = provider_credentials()
    return seed_provider_network(
        ec2=ec2_client(provider, aws_url),
        elbv2=provider.elbv2(region=REGION, endpoint_url=aws_url),
        cluster_name="orders-db",
    )


@pytest.fixture
def consumer(aws_url: str) -> Credentials:
    """Keys of the consumer account `CONSUMER_ACCOUNT`."""
    return credentials_for_account(account_id=CONSUMER_ACCOUNT, endpoint_url=aws_url, region=REGION)


@pytest.fixture
def consumer_ec2(consumer: Credentials, aws_url: str) -> EC2Client:
    """EC2 as the consumer."""
    return ec2_client(consumer, aws_url)


@pytest.fixture
def consumer_network(consumer_ec2: EC2Client, provider_network: ProviderNetwork) -> ConsumerNetwork:
    """The consumer's VPC with subnets in the provider's AZs and one outside them."""
    return seed_consumer_network(ec2=consumer_ec2, covered_az_ids=provider_network.az_ids)


class InspectingGateway(PrivateLinkGateway):
    """The bot's gateway, with a read that only tests make: one service by its id."""

    def get_service(self, *, service_id: str) -> ServiceInfo:
        """One endpoint service, or an `AwsError` if it does not exist."""
        services = self.list_services(service_ids=[service_id])
        if not services:
            raise explained(
                code="InvalidVpcEndpointServiceId.NotFound",
                message=f"The VpcEndpointService Id '{service_id}' does not exist",
            )
        return services[0]


@pytest.fixture
def gateway(provider_ec2: EC2Client, aws_url: str) -> InspectingGateway:
    """The gateway as the bot uses it, over the provider's clients (no retries: fast tests)."""
    return InspectingGateway(
        provider_ec2, balancers=lambda: elbv2_client(provider_credentials(), aws_url)
    )


@dataclass(frozen=True)
class CliResult:
    """What one `aws` CLI run printed."""

    returncode: int
    stdout: str
    stderr: str


def run_aws_cli(
    argv: Sequence[str], *, url: str, credentials: Credentials, home: Path, region: str = REGION
) -> CliResult:
    """Run the real `aws` CLI (argv starting with "aws") against the local AWS."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_ENDPOINT_URL": url,
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_MAX_ATTEMPTS": "1",
        **credentials.env(),
    }
    assert argv[0] == "aws"
    done = subprocess.run(
        [AWS_CLI, *argv[1:]], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


def parse_cli_error(text: str) -> tuple[str, str] | None:
    """The error code and message in the `aws` CLI's output, or None if there is none."""
    match = _CLI_ERROR.search(text)
    if match is None:
        return None
    return match.group("code"), " ".join(match.group("message").split())


def error_from_cli_output(text: str, *, supported_az_ids: Sequence[str] = ()) -> AwsError | None:
    """The explained `AwsError` for `aws` CLI output a user pasted, or None if none is in it."""
    parsed = parse_cli_error(text)
    if parsed is None:
        return None
    code, message = parsed
    return explained(code=code, message=message, supported_az_ids=supported_az_ids)


def unused_loopback_url() -> str:
    """An http URL on 127.0.0.1 at a port nobody listens on: AWS that cannot be reached."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def metric(name: str, **labels: str) -> float:
    """The sum of the samples of `name` in this process's /metrics text
    (`bot.observability.render()`) whose labels include `labels`."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(render())
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )
