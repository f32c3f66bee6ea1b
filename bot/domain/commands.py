"""The AWS CLI commands shown to the user, built from validated values and shell-quoted.

Every value is validated (`bot.domain.validation`) and then `shlex`-quoted; the only words
written as they are come from this module itself (`Raw`): the `"$SG_ID"`-style variables that
an earlier line of the same script sets, and the `<…>` placeholders of a value not known yet.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.validation import (
    parse_az_id,
    parse_name,
    parse_port,
    parse_region,
    parse_security_group_ids,
    parse_service_name,
    parse_subnet_ids,
    parse_vpc_id,
    parse_vpce_id,
)


@dataclass(frozen=True, slots=True)
class Raw:
    """A word written as it is: one of this module's variables or placeholders, never input."""

    text: str


Arg = str | Raw

VPC_PLACEHOLDER = "<VPC ID>"
SUBNETS_PLACEHOLDER = "<Subnet IDs>"
TEMPLATE_FILE = "privatelink.yaml"
"""The file the CloudFormation template is saved as, for `aws cloudformation deploy`."""
VPC_CIDR_PARAMETER = "VpcCidr"
"""The template's parameter for the VPC's CIDR block (CloudFormation cannot look it up)."""
SUBNETS_PARAMETER = "SubnetIds"
"""The template's parameter for the subnets, when the user gave none (nor can it find them)."""


def render(argv: Sequence[Arg]) -> str:
    """Words as one shell line: each value quoted, each `Raw` word as it is."""
    return " ".join(a.text if isinstance(a, Raw) else shlex.quote(a) for a in argv)


def _subnets(subnet_ids: Sequence[str]) -> list[str]:
    return list(parse_subnet_ids(" ".join(subnet_ids)))


def _groups(security_group_ids: Sequence[str]) -> list[str]:
    return list(parse_security_group_ids(" ".join(security_group_ids)))


def _create_words(
    *,
    vpc: Arg,
    region: str,
    service_name: str,
    subnets: Sequence[Arg],
    groups: Sequence[Arg],
) -> list[Arg]:
    """The words of `aws ec2 create-vpc-endpoint`, every value already validated or a Raw."""
    return [
        "aws",
        "ec2",
        "create-vpc-endpoint",
        "--vpc-id",
        vpc,
        "--region",
        parse_region(region),
        "--service-name",
        parse_service_name(service_name),
        "--vpc-endpoint-type",
        "Interface",
        "--subnet-ids",
        *subnets,
        *(["--security-group-ids", *groups] if groups else []),
    ]


def create_endpoint_argv(
    *,
    vpc_id: str,
    region: str,
    service_name: str,
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str] = (),
) -> list[str]:
    """The argument list of `aws ec2 create-vpc-endpoint` for the user's VPC."""
    words = _create_words(
        vpc=parse_vpc_id(vpc_id),
        region=region,
        service_name=service_name,
        subnets=_subnets(subnet_ids),
        groups=_groups(security_group_ids),
    )
    argv = [word for word in words if isinstance(word, str)]
    assert len(argv) == len(words)  # every value given: no placeholder among the words
    return argv


def create_endpoint_command(
    *,
    vpc_id: str,
    region: str,
    service_name: str,
    subnet_ids: Sequence[str],
    security_group_ids: Sequence[str] = (),
) -> str:
    """`aws ec2 create-vpc-endpoint …` as one shell line."""
    return render(
        create_endpoint_argv(
            vpc_id=vpc_id,
            region=region,
            service_name=service_name,
            subnet_ids=subnet_ids,
            security_group_ids=security_group_ids,
        )
    )


def modify_endpoint_argv(*, vpce_id: str, region: str) -> list[str]:
    """The argument list of `aws ec2 modify-vpc-endpoint … --private-dns-enabled`."""
    return [
        "aws",
        "ec2",
        "modify-vpc-endpoint",
        "--vpc-endpoint-id",
        parse_vpce_id(vpce_id),
        "--region",
        parse_region(region),
        "--private-dns-enabled",
    ]


def modify_endpoint_command(*, vpce_id: str, region: str) -> str:
    """`aws ec2 modify-vpc-endpoint … --private-dns-enabled` as one shell line."""
    return render(modify_endpoint_argv(vpce_id=vpce_id, region=region))


def delete_endpoint_argv(*, vpce_id: str, region: str) -> list[str]:
    """The argument list of `aws ec2 delete-vpc-endpoints` for the user's own endpoint."""
    return [
        "aws",
        "ec2",
        "delete-vpc-endpoints",
        "--vpc-endpoint-ids",
        parse_vpce_id(vpce_id),
        "--region",
        parse_region(region),
    ]


def delete_endpoint_command(*, vpce_id: str, region: str) -> str:
    """`aws ec2 delete-vpc-endpoints --vpc-endpoint-ids <vpce> --region <region>`."""
    return render(delete_endpoint_argv(vpce_id=vpce_id, region=region))


# --- the endpoint's security group ----------------------------------------------------------


def endpoint_resource_name(*, cluster_name: str, endpoint_id: int) -> str:
    """The name of what the user makes for one private endpoint (its security group, its
    CloudFormation stack): `privatelink-<cluster>-<id>`."""
    return f"privatelink-{parse_name(cluster_name)}-{int(endpoint_id)}"


def security_group_description(*, cluster_name: str, port: int) -> str:
    """Its description, in the characters AWS allows in one."""
    return f"Allows TCP {parse_port(port)} to cluster {parse_name(cluster_name)} over PrivateLink"


def rule_description(*, cluster_name: str, port: int, endpoint_id: int) -> str:
    """What the group's inbound rule admits, for which endpoint (AWS's allowed characters)."""
    return (
        f"TCP {parse_port(port)} from the VPC to cluster {parse_name(cluster_name)} "
        f"via private endpoint {int(endpoint_id)}"
    )


def vpc_cidr_argv(*, vpc_id: str | None, region: str) -> list[Arg]:
    """`aws ec2 describe-vpcs`, printing just the VPC's IPv4 CIDR block."""
    return [
        "aws",
        "ec2",
        "describe-vpcs",
        "--vpc-ids",
        parse_vpc_id(vpc_id) if vpc_id else Raw(VPC_PLACEHOLDER),
        "--region",
        parse_region(region),
        "--query",
        "Vpcs[0].CidrBlock",
        "--output",
        "text",
    ]


def _vpc_cidr_line(*, vpc_id: str | None, region: str) -> str:
    return f"VPC_CIDR=$({render(vpc_cidr_argv(vpc_id=vpc_id, region=region))})"


def subnets_per_zone_line(*, vpc_id: str | None, region: str, az_ids: Sequence[str]) -> str:
    """The shell line that leaves in `$SUBNET_IDS` one of the VPC's subnets per supported AZ
    ID, comma-separated (what a CloudFormation parameter of subnets takes)."""
    argv: list[Arg] = [
        "aws",
        "ec2",
        "describe-subnets",
        "--region",
        parse_region(region),
        "--filters",
        f"Name=vpc-id,Values={parse_vpc_id(vpc_id) if vpc_id else VPC_PLACEHOLDER}",
        "Name=availability-zone-id,Values=" + ",".join(parse_az_id(az) for az in az_ids),
        "--query",
        "Subnets[].[AvailabilityZoneId,SubnetId]",
        "--output",
        "text",
    ]
    return f"SUBNET_IDS=$({render(argv)} | sort | awk '!seen[$1]++ {{print $2}}' | paste -sd, -)"


def cloudformation_deploy_lines(
    *,
    vpc_id: str | None,
    region: str,
    cluster_name: str,
    endpoint_id: int,
    new_group: bool,
    az_ids: Sequence[str] = (),
) -> list[str]:
    """`aws cloudformation deploy` of the saved template (`TEMPLATE_FILE`); with a new group,
    after the line that reads the VPC's CIDR block for the template's parameter, and with
    `az_ids` (no subnets given), after the line that picks a subnet in each of them."""
    deploy: list[Arg] = [
        "aws",
        "cloudformation",
        "deploy",
        "--template-file",
        TEMPLATE_FILE,
        "--stack-name",
        endpoint_resource_name(cluster_name=cluster_name, endpoint_id=endpoint_id),
        "--region",
        parse_region(region),
    ]
    lines: list[str] = []
    overrides: list[Arg] = []
    if new_group:
        lines.append(_vpc_cidr_line(vpc_id=vpc_id, region=region))
        overrides.append(Raw(f'"{VPC_CIDR_PARAMETER}=$VPC_CIDR"'))
    if az_ids:
        lines.append(subnets_per_zone_line(vpc_id=vpc_id, region=region, az_ids=az_ids))
        overrides.append(Raw(f'"{SUBNETS_PARAMETER}=$SUBNET_IDS"'))
    if overrides:
        deploy += ["--parameter-overrides", *overrides]
    return [*lines, render(deploy)]


# --- finding subnets that fit -----------------------------------------------------------------

SUBNET_COLUMNS = (
    "sort_by(Subnets,&AvailabilityZoneId)"
    "[].[SubnetId,AvailabilityZoneId,Tags[?Key==`Name`]|[0].Value]"
)
"""One line per subnet: its id, its AZ ID and its Name tag (`None` without one)."""


def describe_subnets_template(*, vpc_id: str | None, region: str, az_ids: Sequence[str]) -> str:
    """`aws ec2 describe-subnets` listing the VPC's subnets in the service's AZ IDs, one per
    line; `<VPC ID>` while the VPC is not known yet."""
    vpc = parse_vpc_id(vpc_id) if vpc_id else VPC_PLACEHOLDER
    zones = ",".join(parse_az_id(az) for az in az_ids)
    return render(
        [
            "aws",
            "ec2",
            "describe-subnets",
            "--region",
            parse_region(region),
            "--filters",
            f"Name=vpc-id,Values={vpc}",
            f"Name=availability-zone-id,Values={zones}",
            "--query",
            SUBNET_COLUMNS,
            "--output",
            "text",
        ]
    )


# --- the console -----------------------------------------------------------------------------


def _console(region: str) -> str | None:
    """The VPC console's address in `region` (None outside AWS's commercial partition:
    GovCloud, China and ISO regions have consoles of their own)."""
    code = parse_region(region)
    if code.startswith("cn-") or "-gov-" in code or "-iso" in code:
        return None
    return f"https://{code}.console.aws.amazon.com/vpc/home?region={code}"


def console_create_endpoint_url(*, region: str) -> str | None:
    """The AWS console's Create endpoint page in `region`."""
    console = _console(region)
    return f"{console}#CreateVpcEndpoint:" if console else None


def console_endpoint_url(*, region: str, vpce_id: str) -> str | None:
    """The AWS console's page of the user's endpoint `vpce_id` in `region`."""
    console = _console(region)
    return f"{console}#EndpointDetails:vpcEndpointId={parse_vpce_id(vpce_id)}" if console else None
