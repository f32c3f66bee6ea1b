"""Parsers for everything a person types: each returns the clean value or raises InvalidInput.

Only ASCII spaces, tabs and line breaks around a value are forgiven (they come with
copy and paste); anything else that is not exactly the expected form is refused, so a
value that passes is safe to show, store and put on a command line.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import NewType

from bot.domain.errors import InvalidInput

VpcId = NewType("VpcId", str)
SubnetId = NewType("SubnetId", str)
VpcEndpointId = NewType("VpcEndpointId", str)
Region = NewType("Region", str)
AccountId = NewType("AccountId", str)
Name = NewType("Name", str)
ServiceName = NewType("ServiceName", str)
NlbArn = NewType("NlbArn", str)
DnsName = NewType("DnsName", str)
SecurityGroupId = NewType("SecurityGroupId", str)
AzId = NewType("AzId", str)

MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 16
"""AWS's most security groups on an endpoint's network interfaces (its default quota is 5)."""
ID_MAX = 2**31 - 1
"""The largest row id the database holds (32-bit columns): a larger one names nothing."""
SLACK_ID_MAX = 32
"""The longest Slack id (user, channel, team, view) the database keeps."""


class Field(StrEnum):
    """The inputs a person fills in, named as the domain knows them."""

    CLUSTER = "cluster"
    REGION = "region"
    ACCOUNT_ID = "account_id"
    VPC_ID = "vpc_id"
    SUBNET_IDS = "subnet_ids"
    VPCE_ID = "vpce_id"
    NAME = "name"
    SERVICE_NAME = "service_name"
    NLB_ARN = "nlb_arn"
    DNS_NAME = "dns_name"
    PORT = "port"
    SECURITY_GROUP_IDS = "security_group_ids"


_ASCII_SPACE = " \t\r\n"
_HEX_ID = r"[0-9a-f]{8}(?:[0-9a-f]{9})?"
_REGION = (
    r"[a-z]{2}(?:-gov|-iso[a-z]?)?"
    r"-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-[1-9]"
)
_GCP_REGION = (
    r"(?:africa|asia|australia|europe|me|northamerica|southamerica|us)"
    r"-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)[1-9][0-9]?"
)
_PATTERNS = {
    Field.VPC_ID: re.compile(rf"vpc-{_HEX_ID}", re.ASCII),
    Field.SUBNET_IDS: re.compile(rf"subnet-{_HEX_ID}", re.ASCII),
    Field.SECURITY_GROUP_IDS: re.compile(rf"sg-{_HEX_ID}", re.ASCII),
    Field.VPCE_ID: re.compile(rf"vpce-{_HEX_ID}", re.ASCII),
    Field.REGION: re.compile(_REGION, re.ASCII),
    Field.ACCOUNT_ID: re.compile(r"[0-9]{12}", re.ASCII),
    Field.NAME: re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.ASCII),
    Field.SERVICE_NAME: re.compile(
        rf"com\.amazonaws\.vpce\.{_REGION}\.vpce-svc-{_HEX_ID}", re.ASCII
    ),
    Field.NLB_ARN: re.compile(
        rf"arn:aws(?:-[a-z]+)*:elasticloadbalancing:({_REGION}):[0-9]{{12}}"
        r":loadbalancer/net/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}",
        re.ASCII,
    ),
    Field.DNS_NAME: re.compile(
        r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]",
        re.ASCII,
    ),
}

_EXAMPLES = {
    Field.VPC_ID: "vpc-0a1b2c3d4e5f67890",
    Field.SUBNET_IDS: "subnet-0a1b2c3d4e5f67890",
    Field.SECURITY_GROUP_IDS: "sg-0a1b2c3d4e5f67890",
    Field.VPCE_ID: "vpce-0a1b2c3d4e5f67890",
    Field.REGION: "us-west-2",
    Field.ACCOUNT_ID: "123456789012",
}


def _strip(text: str) -> str:
    return text.strip(_ASCII_SPACE)


def _shown(text: str) -> str:
    """A value quoted for an error message, with invisible characters made visible."""
    return ascii(text[:80])


def _match(field: Field, text: str, what: str) -> str:
    value = _strip(text)
    if not value:
        raise InvalidInput(field, f"Enter {what}.")
    if _PATTERNS[field].fullmatch(value) is None:
        example = _EXAMPLES.get(field)
        hint = f", for example {example}" if example else ""
        raise InvalidInput(field, f"{_shown(value)} is not {what}{hint}.")
    return value


def parse_vpc_id(text: str) -> VpcId:
    """A VPC id: `vpc-` and 8 or 17 lowercase hex digits."""
    return VpcId(_match(Field.VPC_ID, text, "a VPC ID"))


def parse_vpce_id(text: str) -> VpcEndpointId:
    """A VPC endpoint id: `vpce-` and 8 or 17 lowercase hex digits."""
    return VpcEndpointId(_match(Field.VPCE_ID, text, "a VPC endpoint ID"))


def parse_region(text: str) -> Region:
    """An AWS region code such as `us-west-2`."""
    return Region(_match(Field.REGION, text, "an AWS region code"))


def parse_account_id(text: str) -> AccountId:
    """A 12-digit AWS account id."""
    value = _strip(text).replace("-", "") if _looks_dashed_account(text) else text
    return AccountId(_match(Field.ACCOUNT_ID, value, "a 12-digit AWS account ID"))


def principal_arn(account_id: str) -> str:
    """The allowed-principal ARN that lets a whole AWS account connect to a service."""
    return f"arn:aws:iam::{account_id}:root"


def _looks_dashed_account(text: str) -> bool:
    """The console shows account ids as 1234-5678-9012; accept that form too."""
    return re.fullmatch(r"[0-9]{4}-[0-9]{4}-[0-9]{4}", _strip(text), re.ASCII) is not None


def parse_name(text: str, *, what: str = "name") -> Name:
    """A project or cluster name: a DNS label (lowercase letters, digits, inner hyphens)."""
    value = _strip(text)
    if not value:
        raise InvalidInput(Field.NAME, f"Enter a {what}.")
    if _PATTERNS[Field.NAME].fullmatch(value) is None:
        raise InvalidInput(
            Field.NAME,
            f"{_shown(value)} is not a valid {what}: use 1-63 lowercase letters, digits and "
            "hyphens, starting and ending with a letter or digit.",
        )
    return Name(value)


def parse_subnet_ids(text: str) -> tuple[SubnetId, ...]:
    """Subnet ids separated by spaces or commas, de-duplicated in order; at least one."""
    parts = [part for part in re.split(r"[ \t\r\n,]+", text) if part]
    if not parts:
        raise InvalidInput(Field.SUBNET_IDS, "Enter at least one subnet ID.")
    subnets = tuple(
        dict.fromkeys(SubnetId(_match(Field.SUBNET_IDS, p, "a subnet ID")) for p in parts)
    )
    if len(subnets) > MAX_SUBNETS:
        raise InvalidInput(
            Field.SUBNET_IDS, f"Enter at most {MAX_SUBNETS} subnet IDs, one per Availability Zone."
        )
    return subnets


def parse_security_group_ids(text: str) -> tuple[SecurityGroupId, ...]:
    """Security group ids separated by spaces or commas, de-duplicated in order; none at all is
    an answer too (the wizard then shows the commands that make a group)."""
    parts = [part for part in re.split(r"[ \t\r\n,]+", text) if part]
    groups = tuple(
        dict.fromkeys(
            SecurityGroupId(_match(Field.SECURITY_GROUP_IDS, p, "a security group ID"))
            for p in parts
        )
    )
    if len(groups) > MAX_SECURITY_GROUPS:
        raise InvalidInput(
            Field.SECURITY_GROUP_IDS,
            f"Enter at most {MAX_SECURITY_GROUPS} security group IDs (AWS allows 5 unless your "
            "quota was raised).",
        )
    return groups


_GCP_REGION_PATTERN = re.compile(_GCP_REGION, re.ASCII)
_AZ_ID_PATTERN = re.compile(r"[a-z]{2,5}[0-9]{1,2}-az[0-9]{1,2}", re.ASCII)


def parse_gcp_region(text: str) -> Region:
    """A Google Cloud region code such as `us-central1`."""
    value = _strip(text)
    if _GCP_REGION_PATTERN.fullmatch(value) is None:
        raise InvalidInput(
            Field.REGION, f"{_shown(value)} is not a GCP region code, for example us-central1."
        )
    return Region(value)


def parse_az_id(text: str) -> AzId:
    """An Availability Zone id such as `usw2-az1` (the same in every account)."""
    value = _strip(text)
    if _AZ_ID_PATTERN.fullmatch(value) is None:
        raise InvalidInput(Field.REGION, f"{_shown(value)} is not an Availability Zone ID.")
    return AzId(value)


def parse_service_name(text: str) -> ServiceName:
    """An endpoint service name: `com.amazonaws.vpce.<region>.vpce-svc-<8 or 17 hex>`."""
    return ServiceName(_match(Field.SERVICE_NAME, text, "an endpoint service name"))


def parse_nlb_arn(text: str, *, region: str) -> NlbArn:
    """A Network Load Balancer ARN in `region`."""
    value = _match(Field.NLB_ARN, text, "a Network Load Balancer ARN")
    match = _PATTERNS[Field.NLB_ARN].fullmatch(value)
    if match is not None and match.group(1) != region:
        raise InvalidInput(
            Field.NLB_ARN,
            f"The load balancer is in {match.group(1)}, but the cluster is in {region}.",
        )
    return NlbArn(value)


def parse_dns_name(text: str) -> DnsName:
    """A fully qualified, lowercase DNS name with at least two labels."""
    return DnsName(_match(Field.DNS_NAME, text, "a DNS name such as db.example.com"))


def parse_port(value: int | str) -> int:
    """A TCP port, 1-65535."""
    text = _strip(str(value))
    if re.fullmatch(r"[0-9]{1,5}", text, re.ASCII) is None or not 1 <= int(text) <= 65535:
        raise InvalidInput(Field.PORT, f"{_shown(text)} is not a port number (1-65535).")
    return int(text)


AWS_REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
)  # offered in the wizard's region select
