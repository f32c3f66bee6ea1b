"""Interface endpoints and their connections in the local AWS, seen from both accounts."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from sandbox.aws import (
    PROVIDER_ACCOUNT_ID,
    ConsumerNetwork,
    ProviderNetwork,
    configure,
    credentials_for_account,
    seed_connections,
    seed_consumer_network,
)
from tests.aws_fixtures import CONSUMER_ACCOUNT, OTHER_ACCOUNT, REGION, ec2_client

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


@pytest.fixture
def service(provider_ec2: EC2Client, provider_network: ProviderNetwork) -> dict[str, Any]:
    """A service with a private DNS name that lets the consumer account connect."""
    created = provider_ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[provider_network.nlb_arn],
        AcceptanceRequired=True,
        PrivateDnsName="orders.db.example.com",
    )["ServiceConfiguration"]
    provider_ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=created["ServiceId"],
        AddAllowedPrincipals=[f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"],
    )
    return dict(created)


def create_endpoint(
    ec2: EC2Client, network: ConsumerNetwork, service: dict[str, Any], **extra: Any
) -> str:
    endpoint = ec2.create_vpc_endpoint(
        VpcId=network.vpc_id,
        ServiceName=service["ServiceName"],
        VpcEndpointType="Interface",
        SubnetIds=list(network.subnet_ids),
        **extra,
    )["VpcEndpoint"]
    return str(endpoint["VpcEndpointId"])


def connection(ec2: EC2Client, vpce_id: str) -> dict[str, Any]:
    answer = ec2.describe_vpc_endpoint_connections(
        Filters=[{"Name": "vpc-endpoint-id", "Values": [vpce_id]}]
    )
    [found] = answer["VpcEndpointConnections"]
    return dict(found)


def endpoint(ec2: EC2Client, vpce_id: str) -> dict[str, Any]:
    return dict(ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce_id])["VpcEndpoints"][0])


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def test_new_endpoint_awaits_acceptance_on_both_sides(
    provider_ec2: EC2Client,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: dict[str, Any],
) -> None:
    vpce_id = create_endpoint(consumer_ec2, consumer_network, service)

    seen = connection(provider_ec2, vpce_id)
    assert seen["VpcEndpointState"] == "pendingAcceptance"
    assert seen["VpcEndpointOwner"] == CONSUMER_ACCOUNT
    assert seen["ServiceId"] == service["ServiceId"]
    assert seen["VpcEndpointConnectionId"].startswith("vpce-con-")
    mine = endpoint(consumer_ec2, vpce_id)
    assert mine["State"] == "pendingAcceptance"
    assert mine["OwnerId"] == CONSUMER_ACCOUNT
    assert mine["PrivateDnsEnabled"] is False
    assert service["ServiceId"] in mine["DnsEntries"][0]["DnsName"]


def test_accepted_endpoint_is_pending_then_available(
    provider_ec2: EC2Client,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: dict[str, Any],
) -> None:
    configure(connection_delay=0.3)
    vpce_id = create_endpoint(consumer_ec2, consumer_network, service)

    answer = provider_ec2.accept_vpc_endpoint_connections(
        ServiceId=service["ServiceId"], VpcEndpointIds=[vpce_id]
    )

    assert answer["Unsuccessful"] == []
    assert connection(provider_ec2, vpce_id)["VpcEndpointState"] == "pending"
    assert endpoint(consumer_ec2, vpce_id)["State"] == "pending"
    time.sleep(0.35)
    assert endpoint(consumer_ec2, vpce_id)["State"] == "available"
    assert connection(provider_ec2, vpce_id)["VpcEndpointState"] == "available"


def test_rejected_endpoint_is_rejected_on_both_sides(
    provider_ec2: EC2Client,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: dict[str, Any],
) -> None:
    vpce_id = create_endpoint(consumer_ec2, consumer_network, service)

    answer = provider_ec2.reject_vpc_endpoint_connections(
        ServiceId=service["ServiceId"], VpcEndpointIds=[vpce_id]
    )

    assert answer["Unsuccessful"] == []
    assert connection(provider_ec2, vpce_id)["VpcEndpointState"] == "rejected"
    assert endpoint(consumer_ec2, vpce_id)["State"] == "rejected"


def test_unknown_and_wrong_state_endpoints_are_unsuccessful(
    provider_ec2: EC2Client,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: dict[str, Any],
) -> None:
    vpce_id = create_endpoint(consumer_ec2, consumer_network, service)
    provider_ec2.reject_vpc_endpoint_connections(
        ServiceId=service["ServiceId"], VpcEndpointIds=[vpce_id]
    )

    answer = provider_ec2.accept_vpc_endpoint_connections(
        ServiceId=service["ServiceId"], VpcEndpointIds=[vpce_id, "vpce-0123456789abcdef0"]
    )

    errors = {item["ResourceId"]: item["Error"]["Code"] for item in answer["Unsuccessful"]}
    assert errors == {
        vpce_id: "InvalidState",
        "vpce-0123456789abcdef0": "InvalidVpcEndpointId.NotFound",
    }


def test_accepting_for_an_unknown_service_is_not_found(provider_ec2: EC2Client) -> None:
    with pytest.raises(ClientError) as raised:
        provider_ec2.accept_vpc_endpoint_connections(
            ServiceId="vpce-svc-00000000000000000", VpcEndpointIds=["vpce-0123456789abcdef0"]
        )

    assert error_code(raised) == "InvalidVpcEndpointServiceId.NotFound"


def test_subnet_outside_the_service_azs_is_refused(
    consumer_ec2: EC2Client, consumer_network: ConsumerNetwork, service: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as raised:
        consumer_ec2.create_vpc_endpoint(
            VpcId=consumer_network.vpc_id,
            ServiceName=service["ServiceName"],
            VpcEndpointType="Interface",
            SubnetIds=[consumer_network.subnet_ids[0], consumer_network.uncovered_subnet_id],
        )

    assert error_code(raised) == "InvalidParameter"
    assert raised.value.response["Error"]["Message"] == (
        f"The VPC endpoint service {service['ServiceId']} does not support the availability "
        f"zone of the subnet: {consumer_network.uncovered_subnet_id}."
    )


def test_an_account_that_is_not_allowed_cannot_see_the_service(
    aws_url: str, provider_network: ProviderNetwork, service: dict[str, Any]
) -> None:
    stranger = ec2_client(
        credentials_for_account(account_id=OTHER_ACCOUNT, endpoint_url=aws_url, region=REGION),
        aws_url,
    )
    network = seed_consumer_network(ec2=stranger, covered_az_ids=provider_network.az_ids)

    with pytest.raises(ClientError) as raised:
        create_endpoint(stranger, network, service)

    assert error_code(raised) == "InvalidServiceName"
    assert raised.value.response["Error"]["Message"] == (
        f"The Vpc Endpoint Service '{service['ServiceName']}' does not exist"
    )


def test_the_provider_account_may_always_connect(
    provider_ec2: EC2Client, provider_network: ProviderNetwork, service: dict[str, Any]
) -> None:
    network = seed_consumer_network(
        ec2=provider_ec2, covered_az_ids=provider_network.az_ids, cidr_prefix="10.7"
    )

    vpce_id = create_endpoint(provider_ec2, network, service)

    assert connection(provider_ec2, vpce_id)["VpcEndpointOwner"] == PROVIDER_ACCOUNT_ID


def test_a_removed_principal_can_no_longer_connect(
    provider_ec2: EC2Client,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: dict[str, Any],
) -> None:
    provider_ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=service["ServiceId"],
        RemoveAllowedPrincipals=[f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"],
    )

    with pytest.raises(ClientError) as raised:
        create_endpoint(consumer_ec2, consumer_network, service)

    assert error_code(raised) == "InvalidServiceName"


def test_a_pending_service_cannot_be_connected_to(
    provider_ec2: EC2Client,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    provider_network: ProviderNetwork,
) -> None:
    configure(service_delay=60)
    pending = provider_ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[provider_network.nlb_arn]
    )["ServiceConfiguration"]
    provider_ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=pending["ServiceId"], AddAllowedPrincipals=["*"]
    )

    with pytest.raises(ClientError) as raised:
        create_endpoint(consumer_ec2, consumer_network, dict(pending))

    assert error_code(raised) == "InvalidServiceName"


def test_unknown_partner_service_name_does_not_exist(
    consumer_ec2: EC2Client, consumer_network: ConsumerNetwork
) -> None:
    name = "com.amazonaws.vpce.us-west-2.vpce-svc-00000000000000000"

    with pytest.raises(ClientError) as raised:
        create_endpoint(consumer_ec2, consumer_network, {"ServiceName": name})

    assert error_code(raised) == "InvalidServiceName"


def test_private_dns_needs_a_verified_name(
    provider_ec2: EC2Client,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: dict[str, Any],
) -> None:
    vpce_id = create_endpoint(consumer_ec2, consumer_network, service)
    provider_ec2.accept_vpc_endpoint_connections(
        ServiceId=service["ServiceId"], VpcEndpointIds=[vpce_id]
    )

    with pytest.raises(ClientError) as raised:
        consumer_ec2.modify_vpc_endpoint(VpcEndpointId=vpce_id, PrivateDnsEnabled=True)
    assert error_code(raised) == "InvalidParameter"
    assert "is not verified" in raised.value.response["Error"]["Message"]

    provider_ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=service["ServiceId"])
    consumer_ec2.modify_vpc_endpoint(VpcEndpointId=vpce_id, PrivateDnsEnabled=True)

    mine = endpoint(consumer_ec2, vpce_id)
    assert mine["PrivateDnsEnabled"] is True
    assert "orders.db.example.com" in [entry["DnsName"] for entry in mine["DnsEntries"]]


def test_private_dns_needs_dns_hostnames_on_the_vpc(
    provider_ec2: EC2Client,
    consumer_ec2: EC2Client,
    provider_network: ProviderNetwork,
    service: dict[str, Any],
) -> None:
    network = seed_consumer_network(
        ec2=consumer_ec2, covered_az_ids=provider_network.az_ids, dns_hostnames=False
    )
    provider_ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=service["ServiceId"])

    with pytest.raises(ClientError) as raised:
        create_endpoint(consumer_ec2, network, service, PrivateDnsEnabled=True)

    assert error_code(raised) == "InvalidParameter"
    assert "enableDnsHostnames" in raised.value.response["Error"]["Message"]


def test_private_dns_conflicts_with_another_endpoint_in_the_vpc(
    provider_ec2: EC2Client,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: dict[str, Any],
) -> None:
    provider_ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=service["ServiceId"])
    create_endpoint(consumer_ec2, consumer_network, service, PrivateDnsEnabled=True)
    second = create_endpoint(consumer_ec2, consumer_network, service)

    with pytest.raises(ClientError) as raised:
        consumer_ec2.modify_vpc_endpoint(VpcEndpointId=second, PrivateDnsEnabled=True)

    assert error_code(raised) == "InvalidParameter"
    assert "conflicting DNS domain for orders.db.example.com" in str(raised.value)


def test_connections_filter_by_state_and_owner(
    provider_ec2: EC2Client,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: dict[str, Any],
) -> None:
    first = create_endpoint(consumer_ec2, consumer_network, service)
    second = create_endpoint(consumer_ec2, consumer_network, service)
    provider_ec2.accept_vpc_endpoint_connections(
        ServiceId=service["ServiceId"], VpcEndpointIds=[first]
    )

    def ids(*filters: tuple[str, str]) -> list[str]:
        answer = provider_ec2.describe_vpc_endpoint_connections(
            Filters=[{"Name": name, "Values": [value]} for name, value in filters]
        )
        return [c["VpcEndpointId"] for c in answer["VpcEndpointConnections"]]

    assert ids(("vpc-endpoint-state", "pendingAcceptance")) == [second]
    assert ids(("vpc-endpoint-state", "available"), ("vpc-endpoint-owner", CONSUMER_ACCOUNT)) == [
        first
    ]
    assert ids(("vpc-endpoint-owner", OTHER_ACCOUNT)) == []
    assert sorted(ids(("service-id", service["ServiceId"]))) == sorted([first, second])


def test_other_providers_do_not_see_the_connections(
    aws_url: str,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: dict[str, Any],
) -> None:
    create_endpoint(consumer_ec2, consumer_network, service)
    other = ec2_client(
        credentials_for_account(account_id=OTHER_ACCOUNT, endpoint_url=aws_url, region=REGION),
        aws_url,
    )

    assert other.describe_vpc_endpoint_connections()["VpcEndpointConnections"] == []
    assert consumer_ec2.describe_vpc_endpoint_connections()["VpcEndpointConnections"] == []


def test_connections_paginate_in_creation_order(
    provider_ec2: EC2Client, service: dict[str, Any]
) -> None:
    seeded = seed_connections(
        region=REGION,
        service_id=service["ServiceId"],
        count=12,
        consumer_account_id=CONSUMER_ACCOUNT,
    )

    seen: list[str] = []
    token = ""
    calls = 0
    while True:
        answer = provider_ec2.describe_vpc_endpoint_connections(MaxResults=5, NextToken=token)
        calls += 1
        seen += [c["VpcEndpointId"] for c in answer["VpcEndpointConnections"]]
        token = answer.get("NextToken", "")
        if not token:
            break

    assert calls == 3
    assert sorted(seen) == sorted(seeded) and len(seen) == 12


@pytest.mark.parametrize("max_results", [0, 4])
def test_max_results_below_five_is_refused(provider_ec2: EC2Client, max_results: int) -> None:
    with pytest.raises(ClientError) as raised:
        provider_ec2.describe_vpc_endpoint_connections(MaxResults=max_results)

    assert error_code(raised) == "InvalidParameterValue"
    assert raised.value.response["Error"]["Message"] == (
        f"Value ( {max_results} ) for parameter maxResults is invalid. "
        "Expecting a value greater than 5."
    )


def test_max_results_above_a_thousand_gives_a_thousand(
    provider_ec2: EC2Client, service: dict[str, Any]
) -> None:
    seed_connections(
        region=REGION,
        service_id=service["ServiceId"],
        count=1001,
        consumer_account_id=CONSUMER_ACCOUNT,
    )

    answer = provider_ec2.describe_vpc_endpoint_connections(MaxResults=5000)

    assert len(answer["VpcEndpointConnections"]) == 1000
    assert answer["NextToken"]


def test_a_bad_next_token_is_refused(provider_ec2: EC2Client) -> None:
    with pytest.raises(ClientError) as raised:
        provider_ec2.describe_vpc_endpoint_connections(NextToken="!!not-a-token!!")

    assert error_code(raised) == "InvalidNextToken"


def test_a_service_with_active_connections_cannot_be_deleted(
    provider_ec2: EC2Client,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: dict[str, Any],
) -> None:
    vpce_id = create_endpoint(consumer_ec2, consumer_network, service)

    refused = provider_ec2.delete_vpc_endpoint_service_configurations(
        ServiceIds=[service["ServiceId"]]
    )
    provider_ec2.reject_vpc_endpoint_connections(
        ServiceId=service["ServiceId"], VpcEndpointIds=[vpce_id]
    )
    deleted = provider_ec2.delete_vpc_endpoint_service_configurations(
        ServiceIds=[service["ServiceId"]]
    )

    assert refused["Unsuccessful"][0]["Error"]["Code"] == "ExistingVpcEndpointConnections"
    assert deleted["Unsuccessful"] == []
    assert (
        provider_ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"] == []
    )
