"""PrivateLink as AWS runs it, on top of moto's objects: who may connect, which AZs, which states.

Services (moto's `VPCServiceConfiguration`) live in the provider account's EC2 backend;
interface endpoints (moto's `VPCEndPoint`) live in the consumer account's backend. The
provider's connection view is derived from the endpoints themselves, so the consumer's
`describe-vpc-endpoints` and the provider's `describe-vpc-endpoint-connections` always agree.

moto objects are untyped here (`Any`): this module is the boundary with moto's internals.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Iterator, Sequence
from typing import Any

from moto.ec2.exceptions import (
    EC2ClientError,
    InvalidParameter,
    InvalidSecurityGroupNotFoundError,
    UnknownVpcEndpointService,
)
from moto.ec2.models import ec2_backends

from sandbox.aws.settings import SETTINGS

PENDING_ACCEPTANCE = "pendingAcceptance"
PENDING = "pending"
AVAILABLE = "available"
REJECTED = "rejected"
ACTIVE_STATES = frozenset({PENDING_ACCEPTANCE, PENDING, AVAILABLE})
"""Connection states that keep a service from being deleted and that may be rejected."""

HOSTED_ZONE_ID = "Z1HUB23UULQXV"


def hex_id(prefix: str) -> str:
    """An AWS-looking id: the prefix, a dash and 17 lowercase hex digits."""
    return f"{prefix}-{secrets.token_hex(9)[:17]}"


def now() -> float:
    """The clock behind the sandbox's delays."""
    return time.monotonic()


def _random_text(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def region_backends(region: str) -> Iterator[Any]:
    """The EC2 backends of every account that has used `region`."""
    for _account_id, account_backends in list(ec2_backends.items()):
        backend = dict.get(account_backends, region)
        if backend is not None:
            yield backend


def find_service_by_name(*, region: str, service_name: str) -> Any | None:
    """The endpoint service (in any account) with this name, or None."""
    for backend in region_backends(region):
        for service in list(backend.configurations.values()):
            if service.service_name == service_name:
                return service
    return None


def endpoints_of(*, region: str, service_names: set[str]) -> list[Any]:
    """Every interface endpoint, in any account, whose service is one of `service_names`."""
    found = []
    for backend in region_backends(region):
        for endpoint in list(backend.vpc_end_points.values()):
            if endpoint.service_name in service_names:
                found.append(endpoint)
    return found


def service_of(provider: Any, *, service_id: str) -> Any:
    """The provider's own service with this id, or AWS's not-found error."""
    service = provider.configurations.get(service_id)
    if service is None:
        raise UnknownVpcEndpointService(service_id)
    return service


# --- services -----------------------------------------------------------------------------


def init_service(service: Any, *, load_balancers: Sequence[Any], region: str) -> None:
    """Give a new service AWS's id format, its AZ ids, `Pending` state and DNS configuration."""
    service.id = hex_id("vpce-svc")
    service.service_name = f"com.amazonaws.vpce.{region}.{service.id}"
    service.endpoint_dns_name = f"{service.id}.{region}.vpce.amazonaws.com"
    service.sandbox_client_token = None
    service.sandbox_az_ids = sorted(
        {subnet.availability_zone_id for lb in load_balancers for subnet in lb.subnets}
    )
    service.sandbox_ready_at = now() + SETTINGS.service_delay
    service.service_state = "Pending"
    reset_dns(service)


def service_state(service: Any) -> str:
    """`Pending` until the configured delay has passed, then `Available`."""
    state: str = vars(service).get("_sandbox_service_state", "Available")
    if state == "Pending" and now() >= vars(service).get("sandbox_ready_at", 0.0):
        state = "Available"
        vars(service)["_sandbox_service_state"] = state
    return state


def reset_dns(service: Any) -> None:
    """A new private DNS name: pending verification, with a fresh TXT record to publish."""
    name = service.private_dns_name
    service.sandbox_dns_state = None
    service.sandbox_dns_txt_name = None
    service.sandbox_dns_txt_value = None
    if name:
        verified = SETTINGS.dns_verified
        service.sandbox_dns_state = "verified" if verified else "pendingVerification"
        service.sandbox_dns_txt_name = "_" + _random_text(string.ascii_lowercase + "0123456789", 20)
        service.sandbox_dns_txt_value = "vpce:" + _random_text(string.ascii_letters, 20)


def dns_configuration(service: Any) -> dict[str, str] | None:
    """`PrivateDnsNameConfiguration` as AWS shows it; None (left out) without a DNS name."""
    if not service.private_dns_name or service.sandbox_dns_state is None:
        return None
    return {
        "State": service.sandbox_dns_state,
        "Type": "TXT",
        "Value": service.sandbox_dns_txt_value,
        "Name": service.sandbox_dns_txt_name,
    }


def consumer_view(service: Any) -> dict[str, Any]:
    """A service as `describe-vpc-endpoint-services` shows it to an account allowed on it."""
    view: dict[str, Any] = {
        "ServiceName": service.service_name,
        "ServiceId": service.id,
        "ServiceType": [{"ServiceType": "Interface"}],
        "Owner": service.ec2_backend.account_id,
        "BaseEndpointDnsNames": [service.endpoint_dns_name],
        "AcceptanceRequired": bool(service.acceptance_required),
        "VpcEndpointPolicySupported": False,
        "ManagesVpcEndpoints": False,
    }
    if service.private_dns_name:
        view["PrivateDnsName"] = service.private_dns_name
        view["PrivateDnsNameVerificationState"] = service.sandbox_dns_state
    return view


def verify_dns(service: Any) -> None:
    """Run the domain ownership check: `verified`, or `failed` when the sandbox says so."""
    name = service.private_dns_name
    if not name:
        raise InvalidParameter(
            f"The VPC endpoint service {service.id} does not have a private DNS name."
        )
    failures = SETTINGS.dns_failures
    failing = service.id in failures or any(
        name == domain or name.endswith("." + domain) for domain in failures
    )
    service.sandbox_dns_state = "failed" if failing else "verified"


def may_connect(service: Any, account_id: str) -> bool:
    """Whether an account may see and connect to the service (its own account always may)."""
    if account_id == service.ec2_backend.account_id:
        return True
    allowed = set(service.principals)
    return "*" in allowed or f"arn:aws:iam::{account_id}:root" in allowed


# --- endpoints ----------------------------------------------------------------------------


def endpoint_state(endpoint: Any) -> str:
    """The endpoint's state; an accepted one is `pending` until the configured delay passes."""
    state: str = vars(endpoint).get("_sandbox_state", AVAILABLE)
    if state == PENDING and now() >= vars(endpoint).get("sandbox_ready_at", 0.0):
        state = AVAILABLE
        vars(endpoint)["_sandbox_state"] = state
    return state


def check_subnets(service: Any, *, consumer: Any, subnet_ids: Sequence[str]) -> None:
    """AWS's error for a subnet in an Availability Zone the service does not support."""
    for subnet_id in subnet_ids:
        subnet = consumer.get_subnet(subnet_id)
        if subnet.availability_zone_id not in service.sandbox_az_ids:
            raise InvalidParameter(
                f"The VPC endpoint service {service.id} does not support the availability "
                f"zone of the subnet: {subnet_id}."
            )


def check_security_groups(
    consumer: Any, *, vpc_id: str, subnet_ids: Sequence[str], group_ids: Sequence[str]
) -> None:
    """AWS's errors for an endpoint's security groups: one that does not exist in the
    consumer's account, or one of another VPC than the endpoint's."""
    for group_id in group_ids:
        group = consumer.get_security_group_from_id(group_id)
        if group is None:
            raise InvalidSecurityGroupNotFoundError(group_id)
        if group.vpc_id != vpc_id:
            where = subnet_ids[0] if subnet_ids else vpc_id
            raise InvalidParameter(
                f"Security group {group_id} and subnet {where} belong to different networks."
            )


def default_security_groups(consumer: Any, *, vpc_id: str) -> list[str]:
    """The groups AWS gives an interface endpoint created without any: the VPC's default."""
    group = consumer.get_security_group_from_name("default", vpc_id)
    return [group.id] if group is not None else []


def check_private_dns(service: Any, *, consumer: Any, vpc_id: str, endpoint_id: str | None) -> None:
    """AWS's errors for enabling private DNS: no or unverified name, VPC DNS off, a conflict."""
    name = service.private_dns_name
    if not name:
        raise InvalidParameter(
            f"Private DNS can't be enabled because the service {service.service_name} "
            "does not provide a private DNS name."
        )
    if service.sandbox_dns_state != "verified":
        raise InvalidParameter(
            f"Private DNS can't be enabled because the private DNS name {name} of the service "
            f"{service.service_name} is not verified."
        )
    vpc = consumer.get_vpc(vpc_id)
    if not (vpc.enable_dns_support and vpc.enable_dns_hostnames):
        raise InvalidParameter(
            "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames "
            f"VPC attributes set to true for {vpc_id}"
        )
    for other in consumer.vpc_end_points.values():
        if (
            other.id != endpoint_id
            and other.vpc_id == vpc_id
            and other.private_dns_enabled
            and endpoint_state(other) in ACTIVE_STATES
            and _private_dns_name_of(other) == name
        ):
            raise InvalidParameter(
                "private-dns-enabled cannot be set because there is already a conflicting "
                f"DNS domain for {name} in the VPC {vpc_id}"
            )


def _private_dns_name_of(endpoint: Any) -> str | None:
    service = find_service_by_name(
        region=endpoint.ec2_backend.region_name, service_name=endpoint.service_name
    )
    return None if service is None else service.private_dns_name


def attach(endpoint: Any, service: Any, *, private_dns: bool) -> None:
    """Make a new endpoint a connection request to `service`, as AWS does."""
    endpoint.sandbox_service_id = service.id
    endpoint.sandbox_connection_id = hex_id("vpce-con")
    endpoint.private_dns_enabled = private_dns
    suffix = secrets.token_hex(4)
    endpoint.dns_entries = [
        {
            "dns_name": f"{endpoint.id}-{suffix}.{service.endpoint_dns_name}",
            "hosted_zone_id": HOSTED_ZONE_ID,
        }
    ]
    endpoint.state = PENDING_ACCEPTANCE if service.acceptance_required else AVAILABLE
    if private_dns:
        add_private_dns_entry(endpoint, service)


def add_private_dns_entry(endpoint: Any, service: Any) -> None:
    """The private DNS name's entry in the endpoint's `DnsEntries`."""
    entry = {"dns_name": service.private_dns_name, "hosted_zone_id": HOSTED_ZONE_ID}
    if entry not in endpoint.dns_entries:
        endpoint.dns_entries.append(entry)


def connection(endpoint: Any, service: Any) -> dict[str, Any]:
    """The provider's view of an endpoint (`VpcEndpointConnection`)."""
    region = endpoint.ec2_backend.region_name
    return {
        "ServiceId": service.id,
        "VpcEndpointId": endpoint.id,
        "VpcEndpointOwner": endpoint.ec2_backend.account_id,
        "VpcEndpointState": endpoint_state(endpoint),
        "CreationTimestamp": endpoint.creation_timestamp,
        "DnsEntries": [
            {"DnsName": entry["dns_name"], "HostedZoneId": entry["hosted_zone_id"]}
            for entry in endpoint.dns_entries or []
        ],
        "NetworkLoadBalancerArns": list(service.network_load_balancer_arns),
        "IpAddressType": "ipv4",
        "VpcEndpointConnectionId": vars(endpoint).get("sandbox_connection_id", ""),
        "VpcEndpointRegion": region,
    }


def _unsuccessful(resource_id: str, code: str, message: str) -> dict[str, Any]:
    return {"ResourceId": resource_id, "Error": {"Code": code, "Message": message}}


def decide(
    provider: Any, *, service_id: str, endpoint_ids: Sequence[str], accept: bool
) -> list[dict[str, Any]]:
    """Accept or reject connection requests; AWS's `Unsuccessful` items for those that fail."""
    service = service_of(provider, service_id=service_id)
    by_id = {
        e.id: e
        for e in endpoints_of(region=provider.region_name, service_names={service.service_name})
    }
    allowed_from = {PENDING_ACCEPTANCE} if accept else ACTIVE_STATES
    unsuccessful = []
    for endpoint_id in endpoint_ids:
        endpoint = by_id.get(endpoint_id)
        if endpoint is None:
            unsuccessful.append(
                _unsuccessful(
                    endpoint_id,
                    "InvalidVpcEndpointId.NotFound",
                    f"The VpcEndPoint ID '{endpoint_id}' does not exist",
                )
            )
            continue
        state = endpoint_state(endpoint)
        if state not in allowed_from:
            verb = "accepted" if accept else "rejected"
            unsuccessful.append(
                _unsuccessful(
                    endpoint_id,
                    "InvalidState",
                    f"The VPC endpoint {endpoint_id} is in the {state} state and cannot be {verb}.",
                )
            )
            continue
        if accept:
            endpoint.sandbox_ready_at = now() + SETTINGS.connection_delay
            endpoint.state = PENDING
        else:
            endpoint.state = REJECTED
    return unsuccessful


def blocking_connections(service: Any) -> list[Any]:
    """Connections that keep the service from being deleted."""
    return [
        e
        for e in endpoints_of(
            region=service.ec2_backend.region_name, service_names={service.service_name}
        )
        if endpoint_state(e) in ACTIVE_STATES
    ]


def client_error(code: str, message: str) -> EC2ClientError:
    """An EC2 error with AWS's code and message."""
    return EC2ClientError(code, message)
