"""AWS errors become AwsError with a plain explanation; throttling and 5xx stay retryable."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from bot.aws.errors import aws_error, explain
from bot.aws.gateways import gateway_for_region
from bot.aws.privatelink import PrivateLinkGateway
from bot.domain.errors import AwsError
from sandbox.aws import (
    ConsumerNetwork,
    ProviderNetwork,
    call_count,
    credentials_for_account,
    inject_fault,
    provider_credentials,
    seed_consumer_network,
)
from tests.aws_fixtures import (
    CONSUMER_ACCOUNT,
    NO_RETRIES,
    OTHER_ACCOUNT,
    REGION,
    error_from_cli_output,
    parse_cli_error,
)

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


@pytest.fixture
def service(
    provider_ec2: EC2Client, gateway: PrivateLinkGateway, provider_network: ProviderNetwork
) -> dict[str, Any]:
    created = gateway.ensure_service(
        cluster_id="cluster-1",
        cluster_name="orders-db",
        nlb_arn=provider_network.nlb_arn,
        client_token="privatelink-bot-cluster-1-1",
        private_dns_name="orders.db.example.com",
    )
    gateway.allow_account(service_id=created.service_id, account_id=CONSUMER_ACCOUNT)
    return {"ServiceId": created.service_id, "ServiceName": created.service_name}


def consumer_error(call: Any, **params: Any) -> AwsError:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return aws_error(raised.value, supported_az_ids=("usw2-az1", "usw2-az2"))


# --- each mapped error, produced by the local AWS ---------------------------------------


def test_az_not_supported_lists_the_supported_az_ids(
    consumer_ec2: EC2Client, consumer_network: ConsumerNetwork, service: dict[str, Any]
) -> None:
    error = consumer_error(
        consumer_ec2.create_vpc_endpoint,
        VpcId=consumer_network.vpc_id,
        ServiceName=service["ServiceName"],
        VpcEndpointType="Interface",
        SubnetIds=[consumer_network.uncovered_subnet_id],
    )

    assert error.code == "InvalidParameter" and not error.retryable
    assert consumer_network.uncovered_subnet_id in str(error)
    assert "usw2-az1, usw2-az2" in str(error)


def test_principal_not_allowed_points_at_the_account(
    aws_url: str, provider_network: ProviderNetwork, service: dict[str, Any]
) -> None:
    stranger = credentials_for_account(
        account_id=OTHER_ACCOUNT, endpoint_url=aws_url, region=REGION
    )
    ec2 = stranger.ec2(region=REGION, endpoint_url=aws_url, config=NO_RETRIES)
    network = seed_consumer_network(ec2=ec2, covered_az_ids=provider_network.az_ids)

    error = consumer_error(
        ec2.create_vpc_endpoint,
        VpcId=network.vpc_id,
        ServiceName=service["ServiceName"],
        VpcEndpointType="Interface",
        SubnetIds=list(network.subnet_ids),
    )

    assert error.code == "InvalidServiceName"
    assert "AWS account you gave the bot" in str(error)
    assert service["ServiceName"] in str(error)


def test_dns_not_verified_and_dns_conflict(
    gateway: PrivateLinkGateway,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: dict[str, Any],
) -> None:
    def create(**extra: Any) -> str:
        return str(
            consumer_ec2.create_vpc_endpoint(
                VpcId=consumer_network.vpc_id,
                ServiceName=service["ServiceName"],
                VpcEndpointType="Interface",
                SubnetIds=list(consumer_network.subnet_ids),
                **extra,
            )["VpcEndpoint"]["VpcEndpointId"]
        )

    first = create()
    not_verified = consumer_error(
        consumer_ec2.modify_vpc_endpoint, VpcEndpointId=first, PrivateDnsEnabled=True
    )
    gateway.start_dns_verification(service_id=service["ServiceId"])
    consumer_ec2.modify_vpc_endpoint(VpcEndpointId=first, PrivateDnsEnabled=True)
    second = create()
    conflict = consumer_error(
        consumer_ec2.modify_vpc_endpoint, VpcEndpointId=second, PrivateDnsEnabled=True
    )

    assert "has not been verified yet" in str(not_verified)
    assert conflict.code == "InvalidParameter"
    assert (
        f"{consumer_network.vpc_id} already has a private DNS zone for orders.db.example.com"
        in (str(conflict))
    )


def test_dns_support_or_hostnames_disabled(
    gateway: PrivateLinkGateway,
    consumer_ec2: EC2Client,
    provider_network: ProviderNetwork,
    service: dict[str, Any],
) -> None:
    network = seed_consumer_network(
        ec2=consumer_ec2, covered_az_ids=provider_network.az_ids, dns_hostnames=False
    )
    gateway.start_dns_verification(service_id=service["ServiceId"])

    error = consumer_error(
        consumer_ec2.create_vpc_endpoint,
        VpcId=network.vpc_id,
        ServiceName=service["ServiceName"],
        VpcEndpointType="Interface",
        SubnetIds=list(network.subnet_ids),
        PrivateDnsEnabled=True,
    )

    assert f"aws ec2 modify-vpc-attribute --vpc-id {network.vpc_id} --enable-dns-hostnames" in (
        str(error)
    )


def test_not_found(gateway: PrivateLinkGateway) -> None:
    with pytest.raises(AwsError) as raised:
        gateway.allow_account(service_id="vpce-svc-00000000000000000", account_id=CONSUMER_ACCOUNT)

    assert raised.value.code == "InvalidVpcEndpointServiceId.NotFound"
    assert "The endpoint service was not found" in str(raised.value)
    assert not raised.value.retryable


def test_access_denied(gateway: PrivateLinkGateway) -> None:
    inject_fault(
        action="DescribeVpcEndpointConnections",
        code="UnauthorizedOperation",
        message="You are not authorized to perform this operation.",
        status=403,
    )

    with pytest.raises(AwsError) as raised:
        gateway.list_connections()

    assert raised.value.code == "UnauthorizedOperation" and not raised.value.retryable
    assert "not allowed" in str(raised.value)


def test_idempotency_mismatch(provider_ec2: EC2Client, provider_network: ProviderNetwork) -> None:
    provider_ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[provider_network.nlb_arn], ClientToken="t"
    )

    error = consumer_error(
        provider_ec2.create_vpc_endpoint_service_configuration,
        NetworkLoadBalancerArns=[provider_network.nlb_arn.replace("orders-db", "x")],
        ClientToken="t",
    )

    assert error.code == "IdempotentParameterMismatch"
    assert "NLB ARN" in str(error)


@pytest.mark.parametrize(
    ("code", "status"),
    [("RequestLimitExceeded", 503), ("Throttling", 400), ("InternalError", 500), ("Odd", 502)],
)
def test_throttling_and_server_errors_are_retryable(
    gateway: PrivateLinkGateway, code: str, status: int
) -> None:
    inject_fault(action="DescribeVpcEndpointServiceConfigurations", code=code, status=status)

    with pytest.raises(AwsError) as raised:
        gateway.list_services()

    assert raised.value.retryable
    assert raised.value.code == code
    assert "try again" in str(raised.value)


def test_unreachable_aws_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = provider_credentials().ec2(
        region=REGION, endpoint_url=f"http://127.0.0.1:{port}", config=NO_RETRIES
    )

    with pytest.raises(AwsError) as raised:
        PrivateLinkGateway(client).list_connections()

    assert raised.value.retryable
    assert "could not reach AWS" in str(raised.value)


def test_the_factory_client_retries_a_throttled_call(
    aws_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    inject_fault(action="DescribeVpcEndpointConnections", times=1)

    connections = gateway_for_region(REGION, endpoint_url=aws_url).list_connections()

    assert connections == []
    assert call_count(action="DescribeVpcEndpointConnections") == 2


# --- explanations from code and text (e.g. pasted by a user) ------------------------------


def test_cli_output_is_parsed_and_explained() -> None:
    pasted = (
        "\nAn error occurred (InvalidParameter) when calling the CreateVpcEndpoint operation: "
        "The VPC endpoint service vpce-svc-0123456789abcdef0 does not support the availability "
        "zone of the subnet: subnet-0a1b2c3d4e5f67890.\n"
    )

    assert parse_cli_error(pasted) == (
        "InvalidParameter",
        "The VPC endpoint service vpce-svc-0123456789abcdef0 does not support the availability "
        "zone of the subnet: subnet-0a1b2c3d4e5f67890.",
    )
    error = error_from_cli_output(pasted, supported_az_ids=["use1-az1", "use1-az4"])
    assert error is not None and error.code == "InvalidParameter"
    assert "subnet-0a1b2c3d4e5f67890" in str(error) and "use1-az1, use1-az4" in str(error)


def test_cli_output_after_retries_is_parsed() -> None:
    pasted = (
        "An error occurred (RequestLimitExceeded) when calling the CreateVpcEndpoint operation "
        "(reached max retries: 2): Request limit exceeded."
    )

    error = error_from_cli_output(pasted)

    assert error is not None and error.code == "RequestLimitExceeded" and error.retryable


def test_text_without_an_aws_error_is_none() -> None:
    assert error_from_cli_output("Unknown options: --foo") is None


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [
        (
            "InvalidParameter",
            "private-dns-enabled cannot be set because there is already a conflicting DNS "
            "domain for db.example.com in the VPC vpc-0a1b2c3d4e5f67890",
            "vpc-0a1b2c3d4e5f67890 already has a private DNS zone for db.example.com",
        ),
        (
            "InvalidParameter",
            "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC "
            "attributes set to true for vpc-0a1b2c3d4e5f67890",
            "--enable-dns-support",
        ),
        (
            "InvalidServiceName",
            "The Vpc Endpoint Service 'com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0' "
            "does not exist",
            "AWS cannot find com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0",
        ),
        ("InvalidVpcID.NotFound", "The vpc ID 'vpc-1' does not exist", "The VPC was not found"),
        ("InvalidSubnetID.NotFound", "The subnet ID 'subnet-1' does not exist", "The subnet"),
        ("AuthFailure", "AWS was not able to validate the provided credentials", "not allowed"),
        (
            "ExistingVpcEndpointConnections",
            "Service has existing active VPC Endpoint connections!",
            "must be rejected",
        ),
        ("Throttling", "Rate exceeded", "try again"),
        ("SomethingElse", "Odd things happened.", "AWS refused the request (SomethingElse)"),
    ],
)
def test_explanations(code: str, message: str, expected: str) -> None:
    assert expected in explain(code=code, message=message)


def test_az_explanation_without_known_az_ids_still_guides() -> None:
    text = explain(
        code="InvalidParameter",
        message="The VPC endpoint service vpce-svc-1 does not support the availability zone of "
        "the subnet: subnet-0a1b2c3d.",
    )

    assert "Availability Zone IDs shown for the endpoint service" in text
