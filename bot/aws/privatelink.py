"""The provider side of AWS PrivateLink over a boto3 EC2 client (and, for the health of the
load balancers behind its services, an ELBv2 client: `bot.aws.target_health`), in typed values.

Reads are batched per region and paginated (`MaxResults` 1,000, one call per page), never
one call per endpoint. Every failure a boto3 call can raise (AWS's error answers, an answer that
cannot be read, connection failures, timeouts, missing credentials: `bot.aws.errors.AWS_FAILURES`)
leaves as `bot.domain.errors.AwsError` with a plain explanation; throttling, AWS-side failures,
connection failures and timeouts are `retryable`, after botocore's own retries are spent.

The client (`RETRY_CONFIG`) suits a worker that must not wait long on one region: connecting
gives up after 3 s, reading an answer after 10 s (botocore's defaults: 60 s each), and
botocore's standard retry mode makes at most 3 attempts, with jittered backoff (under 0.2 s in
all for 5xx and connection failures, a few seconds for throttling) and a retry quota that stops
retrying a client whose calls keep failing. So a call gives up at once when the connection is
refused, after about 9 s when the region's address swallows packets, 30 s when it never
answers. A pass's gateway (`for_pass`) makes no more calls once its region proved unreachable
(`bot.aws.calls`): it raises `bot.aws.errors.RegionUnreachable` instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from botocore.config import Config

from bot.aws.calls import RegionCalls
from bot.aws.errors import explained
from bot.aws.target_health import BalancerHealth, read_target_health
from bot.domain.errors import AwsError
from bot.domain.validation import principal_arn

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef, ServiceConfigurationTypeDef
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

CLUSTER_TAG = "privatelink-bot:cluster"
"""Tag on every endpoint service the bot manages; its value is the cluster's id."""
CLUSTER_NAME_TAG = "privatelink-bot:cluster-name"
PAGE_SIZE = 1000
FILTER_VALUES_MAX = 200
IDS_PER_CALL = 200
RETRY_CONFIG = Config(
    connect_timeout=3.0,
    read_timeout=10.0,
    retries={"mode": "standard", "total_max_attempts": 3},
)

SERVICE_GONE_STATES = frozenset({"Deleting", "Deleted", "Failed"})
ACTIVE_CONNECTION_STATES = ("pendingAcceptance", "pending", "available")
"""Connection states that may be rejected and that keep a service from being deleted."""


@dataclass(frozen=True)
class ServiceInfo:
    """An endpoint service as the bot needs it. `state` is AWS's `ServiceState`."""

    service_id: str
    service_name: str
    state: str
    az_ids: tuple[str, ...]
    private_dns_name: str | None
    dns_state: str | None
    dns_txt_name: str | None
    dns_txt_value: str | None
    nlb_arns: tuple[str, ...] = ()
    cluster_id: str | None = None

    @property
    def available(self) -> bool:
        """Whether consumers can connect now (`ServiceState` is `Available`)."""
        return self.state == "Available"

    @property
    def dns_verified(self) -> bool:
        """Whether the private DNS name's domain ownership is verified."""
        return self.dns_state == "verified"


@dataclass(frozen=True)
class ConnectionInfo:
    """A consumer's interface endpoint as its service sees it. `state` is AWS's state."""

    service_id: str
    vpce_id: str
    owner_account: str
    state: str
    created_at: datetime | None
    dns_names: tuple[str, ...] = ()  # the endpoint's own DNS names (`DnsEntries`), regional first


@dataclass(frozen=True)
class ConnectionFailure:
    """An endpoint that AWS did not accept or reject, with AWS's code and message."""

    vpce_id: str
    code: str
    message: str

    @property
    def error(self) -> AwsError:
        """The failure as an explained `AwsError`."""
        return explained(code=self.code, message=self.message)


def _chunks(values: Sequence[str], size: int) -> Iterator[list[str]]:
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), size):
        yield unique[start : start + size]


class PrivateLinkGateway:
    """Endpoint services and their connections in one region, for the service provider."""

    def __init__(
        self,
        client: EC2Client,
        *,
        page_size: int = PAGE_SIZE,
        balancers: Callable[[], ElasticLoadBalancingv2Client] | None = None,
    ) -> None:
        self._client = client
        self._page_size = page_size
        self._calls = RegionCalls(client.meta.region_name)
        self._elb = RegionCalls(client.meta.region_name)
        self._balancers = balancers

    def for_pass(self) -> Self:
        """This gateway for one reconcile pass (same clients; see `RegionCalls.for_pass`)."""
        gateway = copy.copy(self)
        gateway._calls, gateway._elb = self._calls.for_pass(), self._elb.for_pass()
        return gateway

    @property
    def region(self) -> str:
        """The region of the client."""
        return self._client.meta.region_name

    # --- services ---------------------------------------------------------------------

    def ensure_service(
        self,
        *,
        cluster_id: str,
        cluster_name: str,
        nlb_arn: str,
        client_token: str,
        private_dns_name: str | None = None,
    ) -> ServiceInfo:
        """The cluster's endpoint service, created (acceptance required) if it has none.

        The service is found by its cluster tag first; `client_token` (at most 64 ASCII
        characters) names this creation attempt, so a retry after a lost answer gets the same
        service back, and the next attempt after a failed service gets a new one.
        """
        existing = self.find_service(cluster_id=cluster_id)
        if existing is not None:
            return existing
        request: dict[str, Any] = {
            "NetworkLoadBalancerArns": [nlb_arn],
            "AcceptanceRequired": True,
            "ClientToken": client_token,
            "TagSpecifications": [
                {
                    "ResourceType": "vpc-endpoint-service",
                    "Tags": [
                        {"Key": CLUSTER_TAG, "Value": cluster_id},
                        {"Key": CLUSTER_NAME_TAG, "Value": cluster_name},
                    ],
                }
            ],
        }
        if private_dns_name:
            request["PrivateDnsName"] = private_dns_name
        with self._calls.call():
            answer = self._client.create_vpc_endpoint_service_configuration(**request)
        return self._services([answer["ServiceConfiguration"]])[0]

    def find_service(self, *, cluster_id: str) -> ServiceInfo | None:
        """The cluster's endpoint service, unless it has none (or it is being deleted)."""
        filters: list[FilterTypeDef] = [{"Name": f"tag:{CLUSTER_TAG}", "Values": [cluster_id]}]
        services = [s for s in self._read_services(filters) if s.state not in SERVICE_GONE_STATES]
        return services[0] if services else None

    def list_services(self, *, service_ids: Sequence[str] | None = None) -> list[ServiceInfo]:
        """The bot's endpoint services in the region, or just those with `service_ids`."""
        if service_ids is None:
            return self._read_services([{"Name": "tag-key", "Values": [CLUSTER_TAG]}])
        found: list[ServiceInfo] = []
        for chunk in _chunks(service_ids, FILTER_VALUES_MAX):
            found += self._read_services([{"Name": "service-id", "Values": chunk}])
        return found

    def delete_service(self, *, service_id: str) -> None:
        """Reject the service's active connections, then delete it; gone already is fine."""
        active = self.list_connections(service_ids=[service_id], states=ACTIVE_CONNECTION_STATES)
        failures = self.reject_connections(
            service_id=service_id, vpce_ids=[c.vpce_id for c in active]
        )
        if failures:
            raise failures[0].error
        with self._calls.call():
            answer = self._client.delete_vpc_endpoint_service_configurations(
                ServiceIds=[service_id]
            )
        for item in answer.get("Unsuccessful", []):
            error = item.get("Error", {})
            code = error.get("Code", "Unknown")
            if not code.endswith("NotFound"):
                raise explained(code=code, message=error.get("Message", ""))

    def allow_account(self, *, service_id: str, account_id: str) -> None:
        """Let an AWS account see the service and request connections to it."""
        with self._calls.call():
            self._client.modify_vpc_endpoint_service_permissions(
                ServiceId=service_id, AddAllowedPrincipals=[principal_arn(account_id)]
            )

    def disallow_account(self, *, service_id: str, account_id: str) -> None:
        """Stop an AWS account from requesting new connections (existing ones stay)."""
        with self._calls.call():
            self._client.modify_vpc_endpoint_service_permissions(
                ServiceId=service_id, RemoveAllowedPrincipals=[principal_arn(account_id)]
            )

    def allowed_principals(self, *, service_id: str) -> list[str]:
        """The principal ARNs allowed to request connections to the service."""
        pages = self._pages(
            self._client.describe_vpc_endpoint_service_permissions,
            "AllowedPrincipals",
            ServiceId=service_id,
        )
        return [str(item["Principal"]) for item in pages if "Principal" in item]

    def start_dns_verification(self, *, service_id: str) -> None:
        """Ask AWS to check the TXT record that proves the private DNS domain is ours."""
        with self._calls.call():
            self._client.start_vpc_endpoint_service_private_dns_verification(ServiceId=service_id)

    # --- connections ------------------------------------------------------------------

    def list_connections(
        self,
        *,
        service_ids: Sequence[str] | None = None,
        states: Sequence[str] = (),
        vpce_id: str | None = None,
    ) -> list[ConnectionInfo]:
        """Connection requests to the provider's services in the region (or to `service_ids`),
        optionally only those in `states`, or only the one of `vpce_id`."""
        base: list[FilterTypeDef] = (
            [{"Name": "vpc-endpoint-state", "Values": list(states)}] if states else []
        )
        if vpce_id is not None:
            base.append({"Name": "vpc-endpoint-id", "Values": [vpce_id]})
        if service_ids is None:
            return self._read_connections(base)
        found: list[ConnectionInfo] = []
        for chunk in _chunks(service_ids, FILTER_VALUES_MAX):
            found += self._read_connections([*base, {"Name": "service-id", "Values": chunk}])
        return found

    def accept_connections(
        self, *, service_id: str, vpce_ids: Sequence[str]
    ) -> list[ConnectionFailure]:
        """Accept connection requests; the ones AWS did not accept, with its reasons."""
        return self._decide(self._client.accept_vpc_endpoint_connections, service_id, vpce_ids)

    def reject_connections(
        self, *, service_id: str, vpce_ids: Sequence[str]
    ) -> list[ConnectionFailure]:
        """Reject connection requests or close connections; the ones AWS refused."""
        return self._decide(self._client.reject_vpc_endpoint_connections, service_id, vpce_ids)

    # --- the load balancers behind services --------------------------------------------

    def target_health(self, *, load_balancer_arn: str, port: int | None) -> BalancerHealth:
        """The targets behind a load balancer, those on `port` first (`bot.aws.target_health`).
        ELB has its own guard in a pass: ELB unreachable stops no EC2 work."""
        if self._balancers is None:
            raise RuntimeError("this gateway was made without a load balancer client")
        return read_target_health(
            self._balancers(), load_balancer_arn=load_balancer_arn, port=port, calls=self._elb
        )

    # --- internals --------------------------------------------------------------------

    def _decide(
        self, call: Callable[..., Any], service_id: str, vpce_ids: Sequence[str]
    ) -> list[ConnectionFailure]:
        failures = []
        for chunk in _chunks(vpce_ids, IDS_PER_CALL):
            with self._calls.call():
                answer = call(ServiceId=service_id, VpcEndpointIds=chunk)
            for item in answer.get("Unsuccessful", []):
                error = item.get("Error", {})
                failures.append(
                    ConnectionFailure(
                        item.get("ResourceId", ""),
                        error.get("Code", "Unknown"),
                        error.get("Message", ""),
                    )
                )
        return failures

    def _pages(
        self, call: Callable[..., Mapping[str, Any]], key: str, **params: Any
    ) -> Iterator[Any]:
        token = None
        while True:
            page_params = {**params, "MaxResults": self._page_size}
            if token:
                page_params["NextToken"] = token
            with self._calls.call():
                page = call(**page_params)
            yield from page.get(key, [])
            token = page.get("NextToken")
            if not token:
                return

    def _read_services(self, filters: list[FilterTypeDef]) -> list[ServiceInfo]:
        raw = list(
            self._pages(
                self._client.describe_vpc_endpoint_service_configurations,
                "ServiceConfigurations",
                Filters=filters,
            )
        )
        return self._services(raw)

    def _read_connections(self, filters: list[FilterTypeDef]) -> list[ConnectionInfo]:
        pages = self._pages(
            self._client.describe_vpc_endpoint_connections,
            "VpcEndpointConnections",
            Filters=filters,
        )
        return [
            ConnectionInfo(
                service_id=item.get("ServiceId", ""),
                vpce_id=item.get("VpcEndpointId", ""),
                owner_account=item.get("VpcEndpointOwner", ""),
                state=item.get("VpcEndpointState", ""),
                created_at=item.get("CreationTimestamp"),
                dns_names=tuple(e["DnsName"] for e in item.get("DnsEntries", []) if "DnsName" in e),
            )
            for item in pages
        ]

    def _services(self, raw: Sequence[ServiceConfigurationTypeDef]) -> list[ServiceInfo]:
        names = {
            name
            for item in raw
            if not item.get("AvailabilityZoneIds")
            for name in item.get("AvailabilityZones", [])
        }
        ids_by_name = self._zone_ids(sorted(names)) if names else {}
        return [_service_info(item, ids_by_name) for item in raw]

    def _zone_ids(self, names: list[str]) -> dict[str, str]:
        """Zone names → ids, for answers that give only names (names differ per account)."""
        with self._calls.call():
            zones = self._client.describe_availability_zones(ZoneNames=names)
        return {
            zone["ZoneName"]: zone["ZoneId"]
            for zone in zones.get("AvailabilityZones", [])
            if "ZoneName" in zone and "ZoneId" in zone
        }


def _service_info(item: ServiceConfigurationTypeDef, ids_by_name: Mapping[str, str]) -> ServiceInfo:
    dns = item.get("PrivateDnsNameConfiguration", {})
    tags = {tag.get("Key", ""): tag.get("Value", "") for tag in item.get("Tags", [])}
    az_ids = item.get("AvailabilityZoneIds") or [
        ids_by_name[name] for name in item.get("AvailabilityZones", []) if name in ids_by_name
    ]
    return ServiceInfo(
        service_id=item.get("ServiceId", ""),
        service_name=item.get("ServiceName", ""),
        state=item.get("ServiceState", ""),
        az_ids=tuple(sorted(az_ids)),
        private_dns_name=item.get("PrivateDnsName") or None,
        dns_state=dns.get("State"),
        dns_txt_name=dns.get("Name"),
        dns_txt_value=dns.get("Value"),
        nlb_arns=tuple(item.get("NetworkLoadBalancerArns", [])),
        cluster_id=tags.get(CLUSTER_TAG),
    )
