"""The gateway's endpoint services, against the local AWS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from moto.ec2.models import ec2_backends

from bot.aws.gateways import gateway_for_region
from bot.aws.privatelink import CLUSTER_TAG, PrivateLinkGateway, ServiceInfo
from bot.domain.errors import AwsError
from bot.domain.validation import parse_service_name
from bot.services.endpoint_services import client_token
from sandbox.aws import PROVIDER_ACCOUNT_ID, ProviderNetwork, configure, fail_dns_verification
from sandbox.aws.settings import LOCK
from tests.aws_fixtures import CONSUMER_ACCOUNT, REGION, InspectingGateway

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


FIRST_ATTEMPT = client_token(1, 1)


def ensure(
    gateway: PrivateLinkGateway,
    network: ProviderNetwork,
    *,
    token: str = FIRST_ATTEMPT,
    **extra: str,
) -> ServiceInfo:
    return gateway.ensure_service(
        cluster_id="cluster-1",
        cluster_name="orders-db",
        nlb_arn=network.nlb_arn,
        client_token=token,
        **extra,
    )


def test_ensure_service_creates_one_service_for_the_cluster(
    gateway: PrivateLinkGateway, provider_network: ProviderNetwork
) -> None:
    service = ensure(gateway, provider_network, private_dns_name="orders.db.example.com")

    assert parse_service_name(service.service_name) == service.service_name
    assert service.state == "Available" and service.available
    assert service.az_ids == provider_network.az_ids == ("usw2-az1", "usw2-az2")
    assert service.cluster_id == "cluster-1"
    assert service.nlb_arns == (provider_network.nlb_arn,)
    assert service.private_dns_name == "orders.db.example.com"
    assert service.dns_state == "pendingVerification" and not service.dns_verified
    assert service.dns_txt_name and service.dns_txt_value


def test_ensure_service_again_returns_the_same_service(
    gateway: PrivateLinkGateway, provider_network: ProviderNetwork
) -> None:
    first = ensure(gateway, provider_network)

    again = ensure(gateway, provider_network)

    assert again == first
    assert gateway.list_services() == [first]


def test_creation_is_idempotent_through_the_client_token(
    gateway: PrivateLinkGateway, provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    """A retry after a lost answer (before the tag lookup could see it) makes no second one."""
    earlier = provider_ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[provider_network.nlb_arn], ClientToken=FIRST_ATTEMPT
    )["ServiceConfiguration"]

    service = ensure(gateway, provider_network)

    assert service.service_id == earlier["ServiceId"]
    assert (
        len(provider_ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"])
        == 1
    )


def test_the_next_attempt_after_a_failed_service_creates_a_new_one(
    gateway: PrivateLinkGateway, provider_network: ProviderNetwork
) -> None:
    """The tag lookup skips a Failed service; the row's token for the attempt decides."""
    failed = ensure(gateway, provider_network)
    with LOCK:
        backend = ec2_backends[PROVIDER_ACCOUNT_ID][REGION]
        backend.configurations[failed.service_id].service_state = "Failed"

    again = ensure(gateway, provider_network)  # the same attempt: AWS hands back what it made
    retried = ensure(gateway, provider_network, token=client_token(1, 2))

    assert (again.service_id, again.state) == (failed.service_id, "Failed")
    assert retried.service_id != failed.service_id and retried.available
    assert gateway.find_service(cluster_id="cluster-1") == retried


def test_client_tokens_differ_per_cluster_and_attempt_and_fit_aws() -> None:
    tokens = {client_token(cluster, attempt) for cluster in (1, 2) for attempt in (1, 2)}

    assert len(tokens) == 4
    assert all(len(t) <= 64 and t.isascii() for t in tokens)
    assert client_token(1, 1) == client_token(1, 1)


def test_a_pending_service_is_reported_pending(
    gateway: PrivateLinkGateway, provider_network: ProviderNetwork
) -> None:
    configure(service_delay=60)

    service = ensure(gateway, provider_network)

    assert service.state == "Pending" and not service.available
    assert gateway.get_service(service_id=service.service_id).state == "Pending"


def test_list_services_reads_only_the_bots_services_page_by_page(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    gateway = PrivateLinkGateway(provider_ec2, page_size=5)
    ours = [
        gateway.ensure_service(
            cluster_id=f"cluster-{n}",
            cluster_name=f"db-{n}",
            nlb_arn=provider_network.nlb_arn,
            client_token=client_token(n, 1),
        )
        for n in range(12)
    ]
    provider_ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[provider_network.nlb_arn]
    )
    calls: list[str] = []
    provider_ec2.meta.events.register(
        "before-call.ec2.DescribeVpcEndpointServiceConfigurations",
        lambda **kwargs: calls.append("call"),
    )

    listed = gateway.list_services()

    assert len(calls) == 3
    assert sorted(s.service_id for s in listed) == sorted(s.service_id for s in ours)
    some = [ours[0].service_id, ours[5].service_id]
    assert sorted(s.service_id for s in gateway.list_services(service_ids=some)) == sorted(some)
    assert gateway.list_services(service_ids=[]) == []


def test_find_service_by_cluster(
    gateway: PrivateLinkGateway, provider_network: ProviderNetwork
) -> None:
    service = ensure(gateway, provider_network)

    assert gateway.find_service(cluster_id="cluster-1") == service
    assert gateway.find_service(cluster_id="cluster-2") is None


def test_get_unknown_service_is_an_explained_error(gateway: PrivateLinkGateway) -> None:
    with pytest.raises(AwsError) as raised:
        gateway.get_service(service_id="vpce-svc-00000000000000000")

    assert raised.value.code == "InvalidVpcEndpointServiceId.NotFound"
    assert not raised.value.retryable
    assert "The endpoint service was not found" in str(raised.value)


def test_dns_verification_is_read_and_started(
    gateway: PrivateLinkGateway, provider_network: ProviderNetwork
) -> None:
    service = ensure(gateway, provider_network, private_dns_name="orders.db.example.com")

    gateway.start_dns_verification(service_id=service.service_id)

    assert gateway.get_service(service_id=service.service_id).dns_verified


def test_failed_dns_verification_is_reported(
    gateway: PrivateLinkGateway, provider_network: ProviderNetwork
) -> None:
    service = ensure(gateway, provider_network, private_dns_name="orders.db.example.com")
    fail_dns_verification(target="db.example.com")

    gateway.start_dns_verification(service_id=service.service_id)

    assert gateway.get_service(service_id=service.service_id).dns_state == "failed"


def test_allowed_accounts_are_added_and_removed(
    gateway: PrivateLinkGateway, provider_network: ProviderNetwork
) -> None:
    service = ensure(gateway, provider_network)
    principal = f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"

    gateway.allow_account(service_id=service.service_id, account_id=CONSUMER_ACCOUNT)
    gateway.allow_account(service_id=service.service_id, account_id=CONSUMER_ACCOUNT)
    assert gateway.allowed_principals(service_id=service.service_id) == [principal]

    gateway.disallow_account(service_id=service.service_id, account_id=CONSUMER_ACCOUNT)
    assert gateway.allowed_principals(service_id=service.service_id) == []


def test_az_ids_come_from_zone_names_when_aws_gives_only_names(
    provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    """Older answers carry only zone names, which differ per account: map them to ids."""

    def drop_ids(parsed: dict[str, Any], **kwargs: Any) -> None:
        for item in parsed.get("ServiceConfigurations", []):
            item.pop("AvailabilityZoneIds", None)

    provider_ec2.meta.events.register(
        "after-call.ec2.DescribeVpcEndpointServiceConfigurations", drop_ids
    )
    gateway = InspectingGateway(provider_ec2)
    service = ensure(gateway, provider_network)

    assert gateway.get_service(service_id=service.service_id).az_ids == ("usw2-az1", "usw2-az2")


def test_gateway_for_region_uses_boto3_environment_and_standard_retries(
    aws_url: str, provider_network: ProviderNetwork, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)

    gateway = gateway_for_region(REGION)

    assert gateway.region == REGION
    assert ensure(gateway, provider_network).service_id
    assert [s.cluster_id for s in gateway.list_services()] == ["cluster-1"]
    retries = gateway._client.meta.config.retries  # noqa: SLF001 - checking the client's config
    assert retries is not None and retries["mode"] == "standard"


def test_cluster_tag_marks_what_the_bot_manages(
    gateway: PrivateLinkGateway, provider_ec2: EC2Client, provider_network: ProviderNetwork
) -> None:
    service = ensure(gateway, provider_network)

    [raw] = provider_ec2.describe_vpc_endpoint_service_configurations(
        ServiceIds=[service.service_id]
    )["ServiceConfigurations"]

    assert {"Key": CLUSTER_TAG, "Value": "cluster-1"} in raw["Tags"]
