"""The gateway's connection reads and decisions, against the local AWS."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bot.aws.privatelink import PrivateLinkGateway, ServiceInfo
from bot.domain.errors import AwsError
from sandbox.aws import (
    ConsumerNetwork,
    ProviderNetwork,
    call_count,
    configure,
    seed_connections,
)
from tests.aws_fixtures import CONSUMER_ACCOUNT, OTHER_ACCOUNT, REGION

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


@pytest.fixture
def service(gateway: PrivateLinkGateway, provider_network: ProviderNetwork) -> ServiceInfo:
    """The cluster's service, open to the consumer account."""
    created = gateway.ensure_service(
        cluster_id="cluster-1",
        cluster_name="orders-db",
        nlb_arn=provider_network.nlb_arn,
        client_token="privatelink-bot-cluster-1-1",
    )
    gateway.allow_account(service_id=created.service_id, account_id=CONSUMER_ACCOUNT)
    return created


def create_endpoint(ec2: EC2Client, network: ConsumerNetwork, service: ServiceInfo) -> str:
    return str(
        ec2.create_vpc_endpoint(
            VpcId=network.vpc_id,
            ServiceName=service.service_name,
            VpcEndpointType="Interface",
            SubnetIds=list(network.subnet_ids),
        )["VpcEndpoint"]["VpcEndpointId"]
    )


def test_a_connection_request_is_read_as_typed_values(
    gateway: PrivateLinkGateway,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
) -> None:
    vpce_id = create_endpoint(consumer_ec2, consumer_network, service)

    [connection] = gateway.list_connections()

    assert connection.vpce_id == vpce_id
    assert connection.service_id == service.service_id
    assert connection.owner_account == CONSUMER_ACCOUNT
    assert connection.state == "pendingAcceptance"
    assert connection.created_at is not None and connection.created_at.tzinfo is not None


def test_accept_makes_the_endpoint_available(
    gateway: PrivateLinkGateway,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
) -> None:
    vpce_id = create_endpoint(consumer_ec2, consumer_network, service)

    failures = gateway.accept_connections(service_id=service.service_id, vpce_ids=[vpce_id])

    assert failures == []
    [connection] = gateway.list_connections(service_ids=[service.service_id])
    assert connection.state == "available"
    endpoint = consumer_ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce_id])["VpcEndpoints"][0]
    assert endpoint["State"] == "available"


def test_accepted_connection_reads_pending_during_the_delay(
    gateway: PrivateLinkGateway,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
) -> None:
    configure(connection_delay=60)
    vpce_id = create_endpoint(consumer_ec2, consumer_network, service)

    gateway.accept_connections(service_id=service.service_id, vpce_ids=[vpce_id])

    assert [c.state for c in gateway.list_connections()] == ["pending"]


def test_reject_and_failures_are_reported_per_endpoint(
    gateway: PrivateLinkGateway,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
) -> None:
    vpce_id = create_endpoint(consumer_ec2, consumer_network, service)

    assert gateway.reject_connections(service_id=service.service_id, vpce_ids=[vpce_id]) == []
    failures = gateway.accept_connections(
        service_id=service.service_id, vpce_ids=[vpce_id, "vpce-0123456789abcdef0"]
    )

    assert [c.state for c in gateway.list_connections()] == ["rejected"]
    assert {(f.vpce_id, f.code) for f in failures} == {
        (vpce_id, "InvalidState"),
        ("vpce-0123456789abcdef0", "InvalidVpcEndpointId.NotFound"),
    }
    not_found = next(f for f in failures if f.code.endswith("NotFound"))
    assert "The VPC endpoint was not found" in str(not_found.error)


def test_no_ids_no_call(gateway: PrivateLinkGateway, service: ServiceInfo) -> None:
    before = call_count(action="AcceptVpcEndpointConnections")

    assert gateway.accept_connections(service_id=service.service_id, vpce_ids=[]) == []
    assert call_count(action="AcceptVpcEndpointConnections") == before


def test_connections_filter_by_state_and_service(
    gateway: PrivateLinkGateway,
    provider_network: ProviderNetwork,
    service: ServiceInfo,
) -> None:
    other = gateway.ensure_service(
        cluster_id="cluster-2",
        cluster_name="users-db",
        nlb_arn=provider_network.nlb_arn,
        client_token="privatelink-bot-cluster-2-1",
    )
    pending = seed_connections(
        region=REGION, service_id=service.service_id, count=3, consumer_account_id=CONSUMER_ACCOUNT
    )
    available = seed_connections(
        region=REGION,
        service_id=other.service_id,
        count=2,
        consumer_account_id=OTHER_ACCOUNT,
        state="available",
    )

    by_state = gateway.list_connections(states=["available"])
    by_service = gateway.list_connections(service_ids=[service.service_id])
    both = gateway.list_connections(
        service_ids=[service.service_id, other.service_id], states=["pendingAcceptance"]
    )

    assert sorted(c.vpce_id for c in by_state) == sorted(available)
    assert {c.owner_account for c in by_state} == {OTHER_ACCOUNT}
    assert sorted(c.vpce_id for c in by_service) == sorted(pending)
    assert sorted(c.vpce_id for c in both) == sorted(pending)
    assert gateway.list_connections(service_ids=[]) == []
    [one] = gateway.list_connections(service_ids=[service.service_id], vpce_id=pending[1])
    assert one.vpce_id == pending[1]
    assert gateway.list_connections(service_ids=[service.service_id], vpce_id=available[0]) == []


def test_one_batched_read_of_2500_connections_makes_one_call_per_page(
    gateway: PrivateLinkGateway, provider_ec2: EC2Client, service: ServiceInfo
) -> None:
    seeded = seed_connections(
        region=REGION,
        service_id=service.service_id,
        count=2500,
        consumer_account_id=CONSUMER_ACCOUNT,
    )
    client_calls: list[str] = []
    provider_ec2.meta.events.register(
        "before-call.ec2.DescribeVpcEndpointConnections",
        lambda **kwargs: client_calls.append("call"),
    )
    server_calls_before = call_count(action="DescribeVpcEndpointConnections")

    connections = gateway.list_connections()

    assert len(connections) == 2500
    assert {c.vpce_id for c in connections} == set(seeded)
    assert len(client_calls) == 3  # ceil(2500 / 1000) pages, not 2,500 calls
    assert call_count(action="DescribeVpcEndpointConnections") - server_calls_before == 3


def test_delete_service_rejects_active_connections_first(
    gateway: PrivateLinkGateway,
    consumer_ec2: EC2Client,
    consumer_network: ConsumerNetwork,
    service: ServiceInfo,
) -> None:
    accepted = create_endpoint(consumer_ec2, consumer_network, service)
    waiting = create_endpoint(consumer_ec2, consumer_network, service)
    gateway.accept_connections(service_id=service.service_id, vpce_ids=[accepted])

    gateway.delete_service(service_id=service.service_id)

    assert gateway.list_services() == []
    states = {
        e["VpcEndpointId"]: e["State"]
        for e in consumer_ec2.describe_vpc_endpoints(VpcEndpointIds=[accepted, waiting])[
            "VpcEndpoints"
        ]
    }
    assert states == {accepted: "rejected", waiting: "rejected"}


def test_deleting_a_deleted_service_is_fine(
    gateway: PrivateLinkGateway, service: ServiceInfo
) -> None:
    gateway.delete_service(service_id=service.service_id)

    gateway.delete_service(service_id=service.service_id)

    assert gateway.find_service(cluster_id="cluster-1") is None


def test_deciding_for_an_unknown_service_raises(gateway: PrivateLinkGateway) -> None:
    with pytest.raises(AwsError) as raised:
        gateway.reject_connections(
            service_id="vpce-svc-00000000000000000", vpce_ids=["vpce-0123456789abcdef0"]
        )

    assert raised.value.code == "InvalidVpcEndpointServiceId.NotFound"
