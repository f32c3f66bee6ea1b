"""Endpoint services in the local AWS: ids, state, ClientToken, private DNS, filters, pages."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from sandbox.aws import ProviderNetwork, configure, fail_dns_verification

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


def create_service(ec2: EC2Client, nlb_arn: str, **extra: Any) -> dict[str, Any]:
    answer = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[nlb_arn], AcceptanceRequired=True, **extra
    )
    return dict(answer["ServiceConfiguration"])


def describe(ec2: EC2Client, service_id: str) -> dict[str, Any]:
    answer = ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[service_id])
    return dict(answer["ServiceConfigurations"][0])


def test_service_ids_look_like_aws(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    service = create_service(provider_ec2, provider_network.nlb_arn)

    assert re.fullmatch(r"vpce-svc-[0-9a-f]{17}", service["ServiceId"])
    assert service["ServiceName"] == f"com.amazonaws.vpce.us-west-2.{service['ServiceId']}"
    assert service["AvailabilityZoneIds"] == ["usw2-az1", "usw2-az2"]
    assert re.fullmatch(
        r"arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/net/orders-db/[0-9a-f]{16}",
        provider_network.nlb_arn,
    )


def test_a_new_service_is_pending_for_the_configured_delay(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    configure(service_delay=0.3)
    service = create_service(provider_ec2, provider_network.nlb_arn)

    assert service["ServiceState"] == "Pending"
    assert describe(provider_ec2, service["ServiceId"])["ServiceState"] == "Pending"
    time.sleep(0.35)
    assert describe(provider_ec2, service["ServiceId"])["ServiceState"] == "Available"


def test_without_delay_a_service_is_available_at_the_first_read(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    service = create_service(provider_ec2, provider_network.nlb_arn)

    assert describe(provider_ec2, service["ServiceId"])["ServiceState"] == "Available"


def test_client_token_makes_creation_idempotent(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    first = create_service(provider_ec2, provider_network.nlb_arn, ClientToken="cluster-7")
    again = create_service(provider_ec2, provider_network.nlb_arn, ClientToken="cluster-7")
    other = create_service(provider_ec2, provider_network.nlb_arn, ClientToken="cluster-8")

    assert again["ServiceId"] == first["ServiceId"]
    assert other["ServiceId"] != first["ServiceId"]
    listed = provider_ec2.describe_vpc_endpoint_service_configurations()
    assert len(listed["ServiceConfigurations"]) == 2


def test_client_token_with_another_load_balancer_is_a_mismatch(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    create_service(provider_ec2, provider_network.nlb_arn, ClientToken="cluster-7")
    other_arn = provider_network.nlb_arn.replace("orders-db", "other")

    with pytest.raises(ClientError) as raised:
        create_service(provider_ec2, other_arn, ClientToken="cluster-7")

    assert raised.value.response["Error"]["Code"] == "IdempotentParameterMismatch"


def test_private_dns_name_awaits_verification(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    service = create_service(
        provider_ec2, provider_network.nlb_arn, PrivateDnsName="orders.db.example.com"
    )
    config = service["PrivateDnsNameConfiguration"]

    assert config["State"] == "pendingVerification"
    assert config["Type"] == "TXT"
    assert config["Name"].startswith("_") and config["Value"].startswith("vpce:")

    provider_ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=service["ServiceId"])

    verified = describe(provider_ec2, service["ServiceId"])["PrivateDnsNameConfiguration"]
    assert verified == {**config, "State": "verified"}


def test_service_without_private_dns_name_has_no_dns_configuration(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    service = create_service(provider_ec2, provider_network.nlb_arn)

    assert "PrivateDnsNameConfiguration" not in describe(provider_ec2, service["ServiceId"])
    with pytest.raises(ClientError) as raised:
        provider_ec2.start_vpc_endpoint_service_private_dns_verification(
            ServiceId=service["ServiceId"]
        )
    assert raised.value.response["Error"]["Code"] == "InvalidParameter"


@pytest.mark.parametrize("target", ["service", "example.com", "orders.db.example.com"])
def test_verification_fails_when_the_sandbox_says_so(
    provider_ec2: EC2Client, provider_network: ProviderNetwork, target: str
) -> None:
    service = create_service(
        provider_ec2, provider_network.nlb_arn, PrivateDnsName="orders.db.example.com"
    )
    fail_dns_verification(target=service["ServiceId"] if target == "service" else target)

    provider_ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=service["ServiceId"])

    config = describe(provider_ec2, service["ServiceId"])["PrivateDnsNameConfiguration"]
    assert config["State"] == "failed"


def test_domains_can_be_pre_verified(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    configure(dns_verified=True)

    service = create_service(
        provider_ec2, provider_network.nlb_arn, PrivateDnsName="orders.db.example.com"
    )

    assert service["PrivateDnsNameConfiguration"]["State"] == "verified"


def test_a_new_private_dns_name_needs_verification_again(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    configure(dns_verified=False)
    service = create_service(provider_ec2, provider_network.nlb_arn, PrivateDnsName="a.example.com")
    provider_ec2.start_vpc_endpoint_service_private_dns_verification(ServiceId=service["ServiceId"])

    provider_ec2.modify_vpc_endpoint_service_configuration(
        ServiceId=service["ServiceId"], PrivateDnsName="b.example.com"
    )

    config = describe(provider_ec2, service["ServiceId"])["PrivateDnsNameConfiguration"]
    assert config["State"] == "pendingVerification"


def test_services_filter_by_tag_and_paginate(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    tagged = {
        create_service(
            provider_ec2,
            provider_network.nlb_arn,
            TagSpecifications=[
                {"ResourceType": "vpc-endpoint-service", "Tags": [{"Key": "team", "Value": "db"}]}
            ],
        )["ServiceId"]
        for _ in range(7)
    }
    create_service(provider_ec2, provider_network.nlb_arn)

    seen: list[str] = []
    pages = 0
    token = ""
    while True:
        answer = provider_ec2.describe_vpc_endpoint_service_configurations(
            Filters=[{"Name": "tag:team", "Values": ["db"]}], MaxResults=5, NextToken=token
        )
        pages += 1
        seen += [s["ServiceId"] for s in answer["ServiceConfigurations"]]
        token = answer.get("NextToken", "")
        if not token:
            break

    assert pages == 2
    assert sorted(seen) == sorted(tagged)


def test_services_filter_by_id_and_state(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    first = create_service(provider_ec2, provider_network.nlb_arn)["ServiceId"]
    create_service(provider_ec2, provider_network.nlb_arn)

    by_id = provider_ec2.describe_vpc_endpoint_service_configurations(
        Filters=[{"Name": "service-id", "Values": [first, "vpce-svc-00000000000000000"]}]
    )
    by_state = provider_ec2.describe_vpc_endpoint_service_configurations(
        Filters=[{"Name": "service-state", "Values": ["Pending"]}]
    )

    assert [s["ServiceId"] for s in by_id["ServiceConfigurations"]] == [first]
    assert by_state["ServiceConfigurations"] == []


def test_an_unknown_filter_is_refused(provider_ec2: EC2Client) -> None:
    with pytest.raises(ClientError) as raised:
        provider_ec2.describe_vpc_endpoint_service_configurations(
            Filters=[{"Name": "colour", "Values": ["blue"]}]
        )

    assert raised.value.response["Error"]["Code"] == "InvalidFilter"


def test_unknown_service_ids_are_not_found(provider_ec2: EC2Client) -> None:
    with pytest.raises(ClientError) as raised:
        provider_ec2.describe_vpc_endpoint_service_configurations(
            ServiceIds=["vpce-svc-00000000000000000"]
        )

    assert raised.value.response["Error"]["Code"] == "InvalidVpcEndpointServiceId.NotFound"


def test_deleting_an_unknown_service_is_unsuccessful(provider_ec2: EC2Client) -> None:
    answer = provider_ec2.delete_vpc_endpoint_service_configurations(
        ServiceIds=["vpce-svc-00000000000000000"]
    )

    assert answer["Unsuccessful"][0]["Error"]["Code"] == "InvalidVpcEndpointServiceId.NotFound"
