"""The local AWS over HTTP answers the real `aws` CLI, and runs in-process under moto too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
from moto import mock_aws
from moto.ec2.responses import EC2Response

from sandbox.aws import (
    ProviderNetwork,
    install,
    installed,
    provider_credentials,
    seed_provider_network,
    start_in_background,
)
from tests.aws_fixtures import REGION, run_aws_cli


def test_cli_describes_endpoint_connections(aws_url: str, tmp_path: Path) -> None:
    result = run_aws_cli(
        ["aws", "ec2", "describe-vpc-endpoint-connections", "--region", REGION],
        url=aws_url,
        credentials=provider_credentials(),
        home=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"VpcEndpointConnections": []}


def test_cli_client_token_returns_the_same_service(
    aws_url: str, provider_network: ProviderNetwork, tmp_path: Path
) -> None:
    argv = [
        "aws",
        "ec2",
        "create-vpc-endpoint-service-configuration",
        "--network-load-balancer-arns",
        provider_network.nlb_arn,
        "--acceptance-required",
        "--client-token",
        "cluster-42",
    ]

    first = run_aws_cli(argv, url=aws_url, credentials=provider_credentials(), home=tmp_path)
    second = run_aws_cli(argv, url=aws_url, credentials=provider_credentials(), home=tmp_path)

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    service = json.loads(first.stdout)["ServiceConfiguration"]
    assert json.loads(second.stdout)["ServiceConfiguration"]["ServiceId"] == service["ServiceId"]
    listed = run_aws_cli(
        ["aws", "ec2", "describe-vpc-endpoint-service-configurations"],
        url=aws_url,
        credentials=provider_credentials(),
        home=tmp_path,
    )
    assert len(json.loads(listed.stdout)["ServiceConfigurations"]) == 1


def test_a_second_server_runs_on_its_own_free_port() -> None:
    with start_in_background() as server:
        client = provider_credentials().ec2(region=REGION, endpoint_url=server.url)
        assert client.describe_vpc_endpoint_connections()["VpcEndpointConnections"] == []
    assert server.url.startswith("http://127.0.0.1:")


def test_runs_in_process_under_mock_aws() -> None:
    assert installed()
    with mock_aws():
        session = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        ec2, elbv2 = session.client("ec2"), session.client("elbv2")
        network = seed_provider_network(ec2=ec2, elbv2=elbv2, cluster_name="in-process")
        created = ec2.create_vpc_endpoint_service_configuration(
            NetworkLoadBalancerArns=[network.nlb_arn], ClientToken="t"
        )["ServiceConfiguration"]

        assert ":loadbalancer/net/in-process/" in network.nlb_arn
        assert created["AvailabilityZoneIds"] == list(network.az_ids)
        assert ec2.describe_vpc_endpoint_connections()["VpcEndpointConnections"] == []


def test_serve_blocks_until_sigterm(repo_root: Path) -> None:
    script = (
        "from sandbox.aws import serve; "
        "serve(host='127.0.0.1', port=0, service_delay=0.0, dns_verified=True)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=repo_root,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"},
    )
    try:
        assert process.stderr is not None
        first_line = process.stderr.readline()
        url = first_line.rsplit(" ", 1)[-1].strip()
        assert first_line.startswith("Local AWS listening on http://127.0.0.1:"), first_line
        client = provider_credentials().ec2(region=REGION, endpoint_url=url)
        assert client.describe_vpc_endpoint_connections()["VpcEndpointConnections"] == []
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=10)
    assert returncode == 0


def test_installing_twice_changes_nothing() -> None:
    before = {name: getattr(EC2Response, name) for name in ("create_vpc_endpoint", "call_action")}

    install()

    assert {name: getattr(EC2Response, name) for name in before} == before
