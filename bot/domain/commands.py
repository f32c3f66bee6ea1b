"""The AWS CLI commands shown to the user, built from validated values and shell-quoted."""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from bot.domain.validation import (
    parse_region,
    parse_service_name,
    parse_subnet_ids,
    parse_vpc_id,
    parse_vpce_id,
)


def _render(argv: Sequence[str]) -> str:
    return shlex.join(argv)


def create_endpoint_argv(
    *, vpc_id: str, region: str, service_name: str, subnet_ids: Sequence[str]
) -> list[str]:
    """The argument list of `aws ec2 create-vpc-endpoint` for the user's VPC."""
    subnets = parse_subnet_ids(" ".join(subnet_ids))
    return [
        "aws",
        "ec2",
        "create-vpc-endpoint",
        "--vpc-id",
        parse_vpc_id(vpc_id),
        "--region",
        parse_region(region),
        "--service-name",
        parse_service_name(service_name),
        "--vpc-endpoint-type",
        "Interface",
        "--subnet-ids",
        *subnets,
    ]


def create_endpoint_command(
    *, vpc_id: str, region: str, service_name: str, subnet_ids: Sequence[str]
) -> str:
    """`aws ec2 create-vpc-endpoint …` as one shell line."""
    return _render(
        create_endpoint_argv(
            vpc_id=vpc_id, region=region, service_name=service_name, subnet_ids=subnet_ids
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
    return _render(modify_endpoint_argv(vpce_id=vpce_id, region=region))


VPC_PLACEHOLDER = "<VPC ID>"
SUBNETS_PLACEHOLDER = "<Subnet IDs>"


def create_endpoint_template(
    *, region: str, service_name: str, vpc_id: str | None, subnet_ids: Sequence[str]
) -> str:
    """The create command with every known value filled in and `<…>` where one is missing."""
    if vpc_id and subnet_ids:
        return create_endpoint_command(
            vpc_id=vpc_id, region=region, service_name=service_name, subnet_ids=subnet_ids
        )
    vpc = shlex.quote(parse_vpc_id(vpc_id)) if vpc_id else VPC_PLACEHOLDER
    subnets = (
        " ".join(shlex.quote(s) for s in parse_subnet_ids(" ".join(subnet_ids)))
        if subnet_ids
        else SUBNETS_PLACEHOLDER
    )
    return (
        f"aws ec2 create-vpc-endpoint --vpc-id {vpc} --region {shlex.quote(parse_region(region))}"
        f" --service-name {shlex.quote(parse_service_name(service_name))}"
        f" --vpc-endpoint-type Interface --subnet-ids {subnets}"
    )
