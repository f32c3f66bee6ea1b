"""The doctor's checks that only the user's own account can run, filled in with real values.

The provider cannot see inside the user's VPC: whether private DNS is on for the endpoint and
which security groups it has, whether those groups admit the cluster's port, what the host
resolves to from inside the VPC, and whether a connection gets through. Each `UserCheck` is a
command (every value validated, then shell-quoted, as in `bot.domain.commands`), what a good
answer looks like, and what a bad one means with its fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.commands import VPC_PLACEHOLDER, Arg, Raw, modify_endpoint_command, render
from bot.domain.validation import (
    parse_dns_name,
    parse_port,
    parse_region,
    parse_security_group_ids,
    parse_vpc_id,
    parse_vpce_id,
)

GROUP_PLACEHOLDER = "<security group id>"
CIDR_PLACEHOLDER = "<your clients' CIDR block>"
PRIVATE_RANGES = "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"


@dataclass(frozen=True, slots=True)
class UserCheck:
    """One check the user runs: its command, a good answer, and what a bad one means."""

    title: str
    command: str
    good: str
    bad: str


def _endpoint_query(*, vpce_id: str, region: str, query: str, text: bool = False) -> list[Arg]:
    """`aws ec2 describe-vpc-endpoints` of the one endpoint, printing `query`."""
    return [
        "aws",
        "ec2",
        "describe-vpc-endpoints",
        "--region",
        parse_region(region),
        "--vpc-endpoint-ids",
        parse_vpce_id(vpce_id),
        "--query",
        query,
        *(["--output", "text"] if text else []),
    ]


def endpoint_check(*, vpce_id: str, region: str) -> UserCheck:
    """Private DNS on, and the endpoint's security groups (`describe-vpc-endpoints`)."""
    query = "VpcEndpoints[0].{State:State,PrivateDns:PrivateDnsEnabled,Groups:Groups[].GroupId}"
    modify = modify_endpoint_command(vpce_id=vpce_id, region=region)
    return UserCheck(
        title="Private DNS and security groups of your endpoint",
        command=render(_endpoint_query(vpce_id=vpce_id, region=region, query=query)),
        good='"State": "available", "PrivateDns": true, and the groups you meant it to have.',
        bad=(
            '"PrivateDns": false: the private DNS name resolves to nothing in your VPC; turn it '
            f"on with `{modify}`. An error that the endpoint does not exist: run it with the "
            "credentials of the account that owns it."
        ),
    )


def security_group_check(
    *, vpce_id: str, region: str, port: int, security_group_ids: Sequence[str] = ()
) -> UserCheck:
    """The endpoint's groups admit TCP on the cluster's port (`describe-security-groups`)."""
    port = parse_port(port)
    groups: list[Arg]
    if security_group_ids:
        groups = list(parse_security_group_ids(" ".join(security_group_ids)))
    else:  # the groups the endpoint has, read in the same line
        ids = _endpoint_query(
            vpce_id=vpce_id, region=region, query="VpcEndpoints[0].Groups[].GroupId", text=True
        )
        groups = [Raw(f"$({render(ids)})")]
    query = (
        f'SecurityGroups[].IpPermissions[?IpProtocol==`"-1"` || (FromPort<=`{port}` && '
        f"ToPort>=`{port}`)][]"
    )
    command: list[Arg] = [
        "aws",
        "ec2",
        "describe-security-groups",
        "--region",
        parse_region(region),
        "--group-ids",
        *groups,
        "--query",
        query,
    ]
    authorize: list[Arg] = [
        "aws",
        "ec2",
        "authorize-security-group-ingress",
        "--region",
        parse_region(region),
        "--group-id",
        Raw(GROUP_PLACEHOLDER),
        "--protocol",
        "tcp",
        "--port",
        str(port),
        "--cidr",
        Raw(CIDR_PLACEHOLDER),
    ]
    return UserCheck(
        title=f"Your security groups admit TCP {port}",
        command=render(command),
        good=f"At least one rule for TCP {port} (or all traffic) from your clients' addresses.",
        bad=(
            f"`[]`: no group of the endpoint admits port {port}, so connections time out; add "
            f"a rule: `{render(authorize)}`."
        ),
    )


def resolve_check(*, host: str, region: str, vpc_id: str | None = None) -> UserCheck:
    """What the host resolves to from inside the VPC (`dig +short`, or `nslookup`)."""
    host = parse_dns_name(host)
    attribute: list[Arg] = [
        "aws",
        "ec2",
        "describe-vpc-attribute",
        "--region",
        parse_region(region),
        "--vpc-id",
        parse_vpc_id(vpc_id) if vpc_id else Raw(VPC_PLACEHOLDER),
        "--attribute",
        "enableDnsHostnames",
    ]
    return UserCheck(
        title="The host resolves to private addresses, from inside your VPC",
        command=f"{render(['dig', '+short', host])}    # or: {render(['nslookup', host])}",
        good=f"Private addresses ({PRIVATE_RANGES}), one per subnet of the endpoint.",
        bad=(
            "No answer: private DNS is off on the endpoint (first check), or the VPC's "
            "`enableDnsSupport` and `enableDnsHostnames` are not both on "
            f"(`{render(attribute)}`, and again with `enableDnsSupport`). Public addresses: "
            "the client does not use the VPC's resolver (a VPN or your own DNS server); run it "
            "from an instance in the VPC, or forward the name to the VPC's resolver."
        ),
    )


def connect_check(*, host: str, port: int) -> UserCheck:
    """A connection test from inside the VPC (`nc -vz host port`)."""
    host, port = parse_dns_name(host), parse_port(port)
    return UserCheck(
        title="A connection gets through, from inside your VPC",
        command=render(["nc", "-vz", host, str(port)]),
        good="`succeeded` (or `open`).",
        bad=(
            "Timed out: a security group (second check) or a network ACL drops it. Refused: "
            "the connection reached the endpoint but no target took it (the load balancer's "
            "line above). `Could not resolve`: see the third check."
        ),
    )


def user_side_checks(
    *,
    vpce_id: str,
    region: str,
    host: str,
    port: int,
    vpc_id: str | None = None,
    security_group_ids: Sequence[str] = (),
) -> list[UserCheck]:
    """The four checks of the user's side, in order, with the endpoint's real values."""
    return [
        endpoint_check(vpce_id=vpce_id, region=region),
        security_group_check(
            vpce_id=vpce_id, region=region, port=port, security_group_ids=security_group_ids
        ),
        resolve_check(host=host, region=region, vpc_id=vpc_id),
        connect_check(host=host, port=port),
    ]
