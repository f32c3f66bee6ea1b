"""`/private-endpoint doctor <id>`: what the bot sees of one private endpoint, as a checklist.

Each line (`Check`) is one thing on the provider's side, judged from what AWS answered: the
endpoint service, the connection of the user's endpoint, the account allowed to connect, the
private DNS name's verification and the load balancer's targets. A line carries its mark, what
was seen, and the fix when something is wrong. No I/O: the service reads AWS and passes the
answers in as plain values; the checks only the user's account can run are in
`bot.domain.user_side_checks`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.dns_verification import DnsState, dns_label
from bot.domain.entities import Cluster, EndpointService, PrivateEndpoint
from bot.domain.states import ConnectionState, EndpointStatus, ServiceStatus
from bot.domain.validation import principal_arn

ASK_AGAIN = "Run the doctor again in a minute; if it stays, tell the bot's operators."
EDIT = "/private-endpoint edit"


class Mark(StrEnum):
    """How a line of the checklist stands."""

    OK = "ok"  # as it should be
    BAD = "bad"  # wrong: the line says how to fix it
    WAITING = "waiting"  # on its way: AWS or the bot is at it
    NOT_YET = "not_yet"  # nothing to check at the endpoint's stage


class Topic(StrEnum):
    """The lines of the checklist, in the order they are shown."""

    SERVICE = "service"
    CONNECTION = "connection"
    ACCOUNT = "account"
    DNS = "dns"
    TARGETS = "targets"

    @property
    def label(self) -> str:
        """The line's name as a person reads it."""
        return _TOPICS[self]


_TOPICS = {
    Topic.SERVICE: "Endpoint service",
    Topic.CONNECTION: "Connection",
    Topic.ACCOUNT: "Allowed account",
    Topic.DNS: "Private DNS name",
    Topic.TARGETS: "Load balancer targets",
}


@dataclass(frozen=True, slots=True)
class Check:
    """One line: its mark, what was seen, the fix (when it needs one) and detail lines."""

    topic: Topic
    mark: Mark
    seen: str
    fix: str = ""
    details: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceSeen:
    """The endpoint service as AWS reported it (`ServiceState`, the private DNS name's)."""

    state: str
    private_dns_name: str | None
    dns_state: str | None


@dataclass(frozen=True, slots=True)
class ConnectionSeen:
    """The user's endpoint as the service sees it: AWS's state and owner, its DNS names."""

    state: str
    owner_account: str
    dns_names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TargetSeen:
    """One target behind the load balancer, in AWS's words (`TargetHealth`)."""

    name: str
    state: str
    reason: str | None = None
    description: str | None = None

    @property
    def healthy(self) -> bool:
        """Whether the load balancer sends connections to it."""
        return self.state == "healthy"


def unreadable(topic: Topic, reason: str) -> Check:
    """A line AWS did not answer for: the reason in plain words, never a trace."""
    return Check(topic, Mark.BAD, f"The bot could not read this from AWS: {reason}", ASK_AGAIN)


def stage_note(endpoint: PrivateEndpoint) -> str | None:
    """What the doctor can check of an endpoint being deleted, or without a VPC endpoint yet
    (None: neither)."""
    if endpoint.status is EndpointStatus.DELETING:
        return (
            f"#{endpoint.id} is being deleted: its connection closes and its account is no "
            "longer allowed, so ✗ below is what deleting looks like, not something to fix."
        )
    if endpoint.vpce_id is not None:
        return None
    return (
        f"#{endpoint.id} is *{endpoint.status.value}*, at the wizard's {endpoint.stage.label} "
        "stage: it has no VPC endpoint yet. The bot checks the endpoint service and the load "
        "balancer now; the connection, and the checks on your side, once you have created "
        f"your endpoint (`{EDIT} {endpoint.id}`, owners)."
    )


def service_check(*, service: EndpointService | None, seen: ServiceSeen | None) -> Check:
    """The cluster's endpoint service: made, and `Available` on AWS."""
    if service is None or service.status is ServiceStatus.DELETED:
        return Check(
            Topic.SERVICE,
            Mark.NOT_YET,
            "The cluster has no endpoint service yet: the wizard "
            "creates one at its Service Endpoint stage.",
        )
    if service.status is ServiceStatus.FAILED:
        return Check(
            Topic.SERVICE,
            Mark.BAD,
            f"Creating it failed: {service.failure_reason or 'no reason was recorded'}",
            "An owner retries it: press Retry in the channel, or run the wizard again.",
        )
    if service.aws_service_id is None:
        return Check(Topic.SERVICE, Mark.WAITING, "The bot is creating it on AWS.")
    name = f"`{service.service_name or service.aws_service_id}`"
    if seen is None:
        return Check(
            Topic.SERVICE,
            Mark.BAD,
            f"AWS has no endpoint service {service.aws_service_id}: it was deleted outside the "
            "bot.",
            "Tell the bot's operators: the cluster's endpoint service must be made again.",
        )
    if seen.state == "Available":
        return Check(Topic.SERVICE, Mark.OK, f"{name} is Available.")
    if seen.state == "Pending":
        return Check(Topic.SERVICE, Mark.WAITING, f"{name} is still being created (Pending).")
    return Check(
        Topic.SERVICE,
        Mark.BAD,
        f"{name} is {seen.state} on AWS: no endpoint can connect to it.",
        "Tell the bot's operators: the cluster's endpoint service must be made again.",
    )


_CONNECTION_WORDS: dict[ConnectionState, tuple[Mark, str, str]] = {
    ConnectionState.AVAILABLE: (Mark.OK, "is available: AWS carries its traffic.", ""),
    ConnectionState.PENDING_ACCEPTANCE: (
        Mark.WAITING,
        "is waiting to be accepted.",
        "The bot accepts it once it is this endpoint's in the wizard: paste the vpce id there "
        f"(`{EDIT} {{id}}`, owners).",
    ),
    ConnectionState.PENDING: (
        Mark.WAITING,
        "is accepted; AWS is still setting it up (a few minutes).",
        "Nothing to do: the channel hears when it is available.",
    ),
    ConnectionState.DELETING: (
        Mark.BAD,
        "is being deleted.",
        f"Create a new endpoint with the wizard (`{EDIT} {{id}}`, owners).",
    ),
    ConnectionState.DELETED: (
        Mark.BAD,
        "was deleted in your account.",
        f"Create a new endpoint with the wizard (`{EDIT} {{id}}`, owners).",
    ),
    ConnectionState.REJECTED: (
        Mark.BAD,
        "was rejected: it was terminated, or it is not the one this wizard recorded.",
        f"Create a new endpoint and give its id to the wizard (`{EDIT} {{id}}`, owners).",
    ),
    ConnectionState.FAILED: (
        Mark.BAD,
        "failed on AWS's side.",
        f"Delete it and create a new one with the wizard (`{EDIT} {{id}}`, owners).",
    ),
    ConnectionState.EXPIRED: (
        Mark.BAD,
        "expired: it was not accepted in time.",
        f"Create a new endpoint with the wizard (`{EDIT} {{id}}`, owners).",
    ),
}


def connection_check(*, endpoint: PrivateEndpoint, seen: ConnectionSeen | None) -> Check:
    """The connection of the user's endpoint to the service: from the right account, available."""
    if endpoint.vpce_id is None:
        return Check(Topic.CONNECTION, Mark.NOT_YET, "No VPC endpoint yet.")
    vpce = f"`{endpoint.vpce_id}`"
    if seen is None:
        return Check(
            Topic.CONNECTION,
            Mark.BAD,
            f"AWS has no connection from {vpce} to this service: it was deleted, or it was made "
            "for another service.",
            f"Check the id, or create the endpoint again (`{EDIT} {endpoint.id}`, owners).",
        )
    if endpoint.account_id and seen.owner_account != endpoint.account_id:
        return Check(
            Topic.CONNECTION,
            Mark.BAD,
            f"{vpce} belongs to AWS account {seen.owner_account}, not {endpoint.account_id}.",
            f"Give the wizard an endpoint of {endpoint.account_id} (`{EDIT} {endpoint.id}`).",
        )
    try:
        mark, words, fix = _CONNECTION_WORDS[ConnectionState(seen.state)]
    except ValueError:
        mark, words, fix = Mark.BAD, f"is {seen.state}, a state the bot does not know.", ASK_AGAIN
    return Check(Topic.CONNECTION, mark, f"{vpce} {words}", fix.format(id=endpoint.id))


def account_check(*, endpoint: PrivateEndpoint, principals: Collection[str]) -> Check:
    """The user's AWS account is among the service's allowed principals."""
    account = endpoint.account_id
    if account is None:
        return Check(Topic.ACCOUNT, Mark.NOT_YET, "No AWS account given yet.")
    if principal_arn(account) in principals or "*" in principals:
        return Check(Topic.ACCOUNT, Mark.OK, f"AWS account {account} may connect.")
    if endpoint.status in (EndpointStatus.DELETING, EndpointStatus.DELETED):
        return Check(Topic.ACCOUNT, Mark.OK, f"AWS account {account} is no longer allowed.")
    return Check(
        Topic.ACCOUNT,
        Mark.BAD,
        f"AWS account {account} is not allowed on the service: creating an endpoint from it fails.",
        "The bot allows it within a minute of the Interface Endpoint stage; if it stays, an "
        f"owner submits that stage again (`{EDIT} {endpoint.id}`).",
    )


def dns_check(*, seen: ServiceSeen | None) -> Check:
    """The service's private DNS name is verified, so it resolves in the user's VPC."""
    if seen is None:
        return Check(Topic.DNS, Mark.NOT_YET, "No endpoint service to read it from yet.")
    if seen.private_dns_name is None:
        return Check(
            Topic.DNS,
            Mark.NOT_YET,
            "The service has no private DNS name: clients connect to the endpoint's own DNS name.",
        )
    name = f"`{seen.private_dns_name}`"
    if seen.dns_state == DnsState.VERIFIED:
        return Check(Topic.DNS, Mark.OK, f"{name} is verified.")
    return Check(
        Topic.DNS,
        Mark.BAD,
        f"{name} is not verified ({dns_label(seen.dns_state)}): it does not resolve in your VPC "
        "even with private DNS on.",
        "The project's owners publish the TXT record and press Verify now (the channel's "
        "private DNS message says how); until then, connect to your endpoint's own DNS name.",
    )


def targets_check(*, cluster: Cluster, targets: Sequence[TargetSeen]) -> Check:
    """The load balancer in front of the cluster has healthy targets, every one of them."""
    if cluster.nlb_arn is None:
        return Check(Topic.TARGETS, Mark.NOT_YET, "The cluster has no load balancer.")
    healthy = sum(target.healthy for target in targets)
    if targets and healthy == len(targets):
        return Check(Topic.TARGETS, Mark.OK, f"{healthy} of {len(targets)} targets are healthy.")
    details = tuple(
        f"`{target.name}` is {target.state}: {target.description or target.reason or target.state}"
        + (f" ({target.reason})" if target.description and target.reason else "")
        for target in targets
        if not target.healthy
    )
    seen = (
        f"{healthy} of {len(targets)} targets are healthy."
        if targets
        else "No target is registered with the load balancer."
    )
    if healthy:
        fix = (
            "Connections go to the healthy targets meanwhile; tell the bot's operators about "
            "the rest."
        )
    else:
        fix = (
            "Nothing on your side can fix this: the cluster's nodes are not answering. Tell the "
            "bot's operators; connections fail until a target is healthy."
        )
    return Check(Topic.TARGETS, Mark.BAD, seen, fix, details)


def host_of(
    *, cluster: Cluster, seen: ServiceSeen | None, connection: ConnectionSeen | None
) -> str | None:
    """The host a client in the user's VPC connects to: the private DNS name once verified,
    else the endpoint's own (regional) DNS name; None when neither is known."""
    verified = seen is not None and seen.dns_state == DnsState.VERIFIED
    if verified and cluster.private_dns_host:
        return cluster.private_dns_host
    own = [name for name in (connection.dns_names if connection else ()) if "*" not in name]
    if own:
        return own[0]
    return cluster.private_dns_host
