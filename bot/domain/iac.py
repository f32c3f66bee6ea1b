"""The user's side of a private endpoint as Terraform and CloudFormation, from validated values.

The same values as the CLI commands (`bot.domain.commands`): each is validated, then written as
a quoted string of the target language (HCL's escapes; JSON's double-quoted strings, which
YAML reads as they are), so a snippet can carry nothing but the value. The CloudFormation
template uses long-form functions (`Ref:`, `Fn::GetAtt:`), so any YAML parser reads it. A value
not known yet is a `<…>` placeholder string.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.commands import (
    SUBNETS_PARAMETER,
    SUBNETS_PLACEHOLDER,
    VPC_CIDR_PARAMETER,
    VPC_PLACEHOLDER,
    endpoint_resource_name,
    rule_description,
    security_group_description,
)
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


class Tool(StrEnum):
    """How the user creates their side: the modal shows the chosen one."""

    CLI = "cli"
    TERRAFORM = "terraform"
    CLOUDFORMATION = "cloudformation"

    @property
    def label(self) -> str:
        """The tool's name as a person reads it."""
        return {"cli": "AWS CLI", "terraform": "Terraform", "cloudformation": "CloudFormation"}[
            self.value
        ]


@dataclass(frozen=True, slots=True)
class EndpointValues:
    """What the user's side of one private endpoint is made of, as far as the wizard knows."""

    endpoint_id: int
    cluster_name: str
    port: int
    region: str
    service_name: str
    vpc_id: str | None = None
    subnet_ids: tuple[str, ...] = ()
    security_group_ids: tuple[str, ...] = ()
    account_id: str | None = None
    az_ids: tuple[str, ...] = ()
    """The service's Availability Zone IDs: where the user's subnets must be."""
    host: str | None = None
    """The cluster's private DNS host, where clients connect."""

    @property
    def new_group(self) -> bool:
        """Whether the snippet makes the endpoint's security group (the user gave none)."""
        return not self.security_group_ids

    @property
    def finds_subnets(self) -> bool:
        """Whether the snippet picks a subnet in each supported AZ ID (the user gave none)."""
        return not self.subnet_ids and bool(self.az_ids)

    @property
    def rule(self) -> str:
        """The description of the new group's inbound rule."""
        return rule_description(
            cluster_name=self.cluster_name, port=self.port, endpoint_id=self.endpoint_id
        )


def hcl_string(value: str) -> str:
    """`value` as an HCL quoted string: escapes, and template sequences made literal."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
        .replace("${", "$${")
        .replace("%{", "%%{")
    )
    return f'"{escaped}"'


def yaml_string(value: str) -> str:
    """`value` as a double-quoted YAML scalar (a JSON string, which YAML reads as is)."""
    return json.dumps(value)


def resource_name(cluster_name: str) -> str:
    """The local name of the snippets' resources: `privatelink_<cluster>`."""
    return "privatelink_" + parse_name(cluster_name).replace("-", "_")


def _vpc(values: EndpointValues) -> str:
    return parse_vpc_id(values.vpc_id) if values.vpc_id else VPC_PLACEHOLDER


def _subnets(values: EndpointValues) -> list[str]:
    if not values.subnet_ids:
        return [SUBNETS_PLACEHOLDER]
    return list(parse_subnet_ids(" ".join(values.subnet_ids)))


def _groups(values: EndpointValues) -> list[str]:
    return list(parse_security_group_ids(" ".join(values.security_group_ids)))


def _hcl_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(items) + "]"


def terraform_endpoint(values: EndpointValues) -> str:
    """A Terraform configuration of the interface endpoint (and of its security group, when
    the user gave none), for a directory of its own: `terraform init && terraform apply`."""
    name = resource_name(values.cluster_name)
    port = parse_port(values.port)
    lines = [
        'provider "aws" {',
        f"  region = {hcl_string(parse_region(values.region))}",
        "}",
        "",
    ]
    if values.new_group:
        group_name = endpoint_resource_name(
            cluster_name=values.cluster_name, endpoint_id=values.endpoint_id
        )
        description = security_group_description(cluster_name=values.cluster_name, port=port)
        lines += [
            f'data "aws_vpc" "{name}" {{',
            f"  id = {hcl_string(_vpc(values))}",
            "}",
            "",
            f'resource "aws_security_group" "{name}" {{',
            f"  name        = {hcl_string(group_name)}",
            f"  description = {hcl_string(description)}",
            f"  vpc_id      = data.aws_vpc.{name}.id",
            "}",
            "",
            f'resource "aws_vpc_security_group_ingress_rule" "{name}" {{',
            f"  security_group_id = aws_security_group.{name}.id",
            f"  description       = {hcl_string(values.rule)}",
            f"  cidr_ipv4         = data.aws_vpc.{name}.cidr_block",
            '  ip_protocol       = "tcp"',
            f"  from_port         = {port}",
            f"  to_port           = {port}",
            "}",
            "",
        ]
        groups = _hcl_list([f"aws_security_group.{name}.id"])
    else:
        groups = _hcl_list([hcl_string(g) for g in _groups(values)])
    subnets = _hcl_list([hcl_string(s) for s in _subnets(values)])
    check: list[str] = []
    if values.finds_subnets:
        lines += _terraform_subnet_lookup(values, name)
        subnets = f"local.{name}_subnet_ids"
        zones = ", ".join(parse_az_id(az) for az in values.az_ids)
        check = [
            "  lifecycle {",
            "    precondition {",
            f"      condition     = length({subnets}) > 0",
            "      error_message = "
            + hcl_string(
                f"{_vpc(values)} has no subnet in {zones}, the AZ IDs the service supports."
            ),
            "    }",
            "  }",
        ]
    lines += [
        f'resource "aws_vpc_endpoint" "{name}" {{',
        f"  vpc_id             = {hcl_string(_vpc(values))}",
        f"  service_name       = {hcl_string(parse_service_name(values.service_name))}",
        '  vpc_endpoint_type  = "Interface"',
        f"  subnet_ids         = {subnets}",
        f"  security_group_ids = {groups}",
        *check,
        "}",
        "",
        'output "vpc_endpoint_id" {',
        f"  value = aws_vpc_endpoint.{name}.id",
        "}",
    ]
    return "\n".join(lines)


def _terraform_subnet_lookup(values: EndpointValues, name: str) -> list[str]:
    """The VPC's subnets in each supported AZ ID (`data "aws_subnets"`), and one per AZ ID."""
    zones = _hcl_list([hcl_string(parse_az_id(az)) for az in values.az_ids])
    return [
        f'data "aws_subnets" "{name}" {{',
        f"  for_each = toset({zones})",
        "  filter {",
        '    name   = "vpc-id"',
        f"    values = [{hcl_string(_vpc(values))}]",
        "  }",
        "  filter {",
        '    name   = "availability-zone-id"',
        "    values = [each.key]",
        "  }",
        "}",
        "",
        "locals {",
        f"  {name}_subnet_ids = [",
        f"    for zone, found in data.aws_subnets.{name} :"
        " sort(found.ids)[0] if length(found.ids) > 0",
        "  ]",
        "}",
        "",
    ]


def terraform_private_dns(*, cluster_name: str, vpce_id: str) -> str:
    """`aws_vpc_endpoint_private_dns` turning private DNS on for the user's endpoint, once the
    connection is accepted (the `aws_vpc_endpoint` itself leaves `private_dns_enabled` out)."""
    return "\n".join(
        [
            f'resource "aws_vpc_endpoint_private_dns" "{resource_name(cluster_name)}" {{',
            f"  vpc_endpoint_id     = {hcl_string(parse_vpce_id(vpce_id))}",
            "  private_dns_enabled = true",
            "}",
        ]
    )


def cloudformation_endpoint(values: EndpointValues, *, private_dns: bool = False) -> str:
    """A CloudFormation template (YAML) of the interface endpoint and, when the user gave no
    group, of its security group; private DNS goes on in a later update, once accepted."""
    port = parse_port(values.port)
    description = (
        f"Private endpoint {int(values.endpoint_id)} to cluster "
        f"{parse_name(values.cluster_name)} over AWS PrivateLink"
    )
    lines = [
        'AWSTemplateFormatVersion: "2010-09-09"',
        f"Description: {yaml_string(description)}",
    ]
    parameters = _cloudformation_parameters(values)
    if parameters:
        lines += ["Parameters:", *parameters]
    if values.new_group:
        vpc = _vpc(values)
        lines += [
            "Resources:",
            "  EndpointSecurityGroup:",
            '    Type: "AWS::EC2::SecurityGroup"',
            "    Properties:",
            "      GroupName: "
            + yaml_string(
                endpoint_resource_name(
                    cluster_name=values.cluster_name, endpoint_id=values.endpoint_id
                )
            ),
            "      GroupDescription: "
            + yaml_string(security_group_description(cluster_name=values.cluster_name, port=port)),
            f"      VpcId: {yaml_string(vpc)}",
            "      SecurityGroupIngress:",
            '        - IpProtocol: "tcp"',
            f"          FromPort: {port}",
            f"          ToPort: {port}",
            f"          Description: {yaml_string(values.rule)}",
            "          CidrIp:",
            f"            Ref: {VPC_CIDR_PARAMETER}",
        ]
        groups = ["        - Fn::GetAtt: [EndpointSecurityGroup, GroupId]"]
    else:
        lines.append("Resources:")
        groups = [f"        - {yaml_string(g)}" for g in _groups(values)]
    lines += [
        "  Endpoint:",
        '    Type: "AWS::EC2::VPCEndpoint"',
        "    Properties:",
        '      VpcEndpointType: "Interface"',
        f"      VpcId: {yaml_string(_vpc(values))}",
        f"      ServiceName: {yaml_string(parse_service_name(values.service_name))}",
        "      SubnetIds:",
        *(
            [f"        Ref: {SUBNETS_PARAMETER}"]
            if values.finds_subnets
            else [f"        - {yaml_string(s)}" for s in _subnets(values)]
        ),
        "      SecurityGroupIds:",
        *groups,
        f"      PrivateDnsEnabled: {'true' if private_dns else 'false'}",
        "Outputs:",
        "  VpcEndpointId:",
        "    Value:",
        "      Ref: Endpoint",
    ]
    return "\n".join(lines)


def _cloudformation_parameters(values: EndpointValues) -> list[str]:
    """What the template cannot look up: the VPC's CIDR block for a new group, and the
    subnets when the user gave none (the deploy lines fill both in)."""
    vpc = _vpc(values)
    found: list[str] = []
    if values.new_group:
        found += [
            f"  {VPC_CIDR_PARAMETER}:",
            "    Type: String",
            f"    Description: {yaml_string(f'The IPv4 CIDR block of {vpc}')}",
        ]
    if values.finds_subnets:
        zones = ", ".join(parse_az_id(az) for az in values.az_ids)
        found += [
            f"  {SUBNETS_PARAMETER}:",
            '    Type: "List<AWS::EC2::Subnet::Id>"',
            f"    Description: {yaml_string(f'One subnet of {vpc} in each of {zones}')}",
        ]
    return found
