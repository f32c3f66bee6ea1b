"""The user's side in every tool: security group ids, the commands, and the Terraform and
CloudFormation snippets, parsed with real parsers and checked for exactly the validated values."""

from __future__ import annotations

import dataclasses
import shlex
from typing import Any

import hcl2
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import commands, iac
from bot.domain.errors import InvalidInput
from bot.domain.iac import EndpointValues
from bot.domain.validation import (
    MAX_SECURITY_GROUPS,
    Field,
    parse_gcp_region,
    parse_security_group_ids,
)

REGION = "eu-west-1"
SERVICE = "com.amazonaws.vpce.eu-west-1.vpce-svc-0123456789abcdef0"
VPC = "vpc-0a1b2c3d4e5f67890"
SUBNETS = ("subnet-0a1b2c3d4e5f67890", "subnet-1b2c3d4e5f6789012", "subnet-2c3d4e5f")
GROUPS = ("sg-0a1b2c3d4e5f67890", "sg-1b2c3d4e")
NEW_GROUP = EndpointValues(
    endpoint_id=42,
    cluster_name="orders-eu",
    port=4406,
    region=REGION,
    service_name=SERVICE,
    vpc_id=VPC,
    subnet_ids=SUBNETS,
)


def with_groups(values: EndpointValues) -> EndpointValues:
    return dataclasses.replace(values, security_group_ids=GROUPS)


# --- security group ids ------------------------------------------------------------------------


def test_security_group_ids_are_optional_split_and_deduplicated() -> None:
    assert parse_security_group_ids("") == ()
    assert parse_security_group_ids(" \n ") == ()
    assert parse_security_group_ids(" sg-0a1b2c3d4e5f67890,sg-1b2c3d4e\tsg-0a1b2c3d4e5f67890 ") == (
        "sg-0a1b2c3d4e5f67890",
        "sg-1b2c3d4e",
    )


@pytest.mark.parametrize(
    "text",
    [
        "sg-xyz",
        "sg-0A1B2C3D",
        "sg-0a1b2c3d;ls",
        "sg-0a1b2c3d4e5f6789",  # 16 hex digits: neither 8 nor 17
        "sg-０a1b2c3d",  # a full-width digit
        "subnet-0a1b2c3d",
        "$SG_ID",
    ],
)
def test_anything_else_is_refused_next_to_the_field(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_security_group_ids(text)
    assert refused.value.field == Field.SECURITY_GROUP_IDS
    assert "is not a security group ID, for example sg-0a1b2c3d4e5f67890" in refused.value.message


def test_at_most_sixteen_groups() -> None:
    many = " ".join(f"sg-{i:08x}" for i in range(MAX_SECURITY_GROUPS + 1))
    with pytest.raises(InvalidInput, match="at most 16 security group IDs"):
        parse_security_group_ids(many)


def test_gcp_region_codes() -> None:
    for code in ("us-central1", "europe-west4", "northamerica-northeast2", "europe-west12"):
        assert parse_gcp_region(code) == code
    for code in ("us-east-1", "us-central", "mars-north1", "US-CENTRAL1", "us-central1;"):
        with pytest.raises(InvalidInput, match="not a GCP region code"):
            parse_gcp_region(code)


# --- commands ------------------------------------------------------------------------------------


def test_the_create_command_passes_the_groups() -> None:
    argv = commands.create_endpoint_argv(
        vpc_id=VPC,
        region=REGION,
        service_name=SERVICE,
        subnet_ids=SUBNETS,
        security_group_ids=GROUPS,
    )
    assert argv[-3:] == ["--security-group-ids", *GROUPS]


def test_describe_subnets_filters_by_vpc_and_az_ids() -> None:
    command = commands.describe_subnets_template(
        vpc_id=VPC, region=REGION, az_ids=("euw1-az1", "euw1-az3")
    )
    argv = shlex.split(command)
    assert argv[:4] == ["aws", "ec2", "describe-subnets", "--region"]
    assert argv[argv.index("--filters") + 1 : argv.index("--filters") + 3] == [
        f"Name=vpc-id,Values={VPC}",
        "Name=availability-zone-id,Values=euw1-az1,euw1-az3",
    ]
    with pytest.raises(InvalidInput):
        commands.describe_subnets_template(vpc_id=VPC, region=REGION, az_ids=["usw2-az1;ls"])


def test_the_delete_command_and_the_console_link() -> None:
    assert commands.delete_endpoint_command(vpce_id="vpce-0f1e2d3c4b5a69788", region=REGION) == (
        "aws ec2 delete-vpc-endpoints --vpc-endpoint-ids vpce-0f1e2d3c4b5a69788 --region eu-west-1"
    )
    assert commands.console_create_endpoint_url(region="ap-southeast-2") == (
        "https://ap-southeast-2.console.aws.amazon.com/vpc/home"
        "?region=ap-southeast-2#CreateVpcEndpoint:"
    )
    assert commands.console_endpoint_url(region=REGION, vpce_id="vpce-0f1e2d3c4b5a69788") == (
        "https://eu-west-1.console.aws.amazon.com/vpc/home"
        "?region=eu-west-1#EndpointDetails:vpcEndpointId=vpce-0f1e2d3c4b5a69788"
    )
    assert commands.console_create_endpoint_url(region="us-gov-west-1") is None
    assert commands.console_create_endpoint_url(region="cn-north-1") is None


# --- Terraform ---------------------------------------------------------------------------------


def hcl_value(raw: Any) -> Any:
    """A value as python-hcl2 gives it, as Terraform reads it: quotes off, escapes resolved."""
    if isinstance(raw, list):
        return [hcl_value(item) for item in raw]
    if not (isinstance(raw, str) and raw.startswith('"') and raw.endswith('"')):
        return raw
    body, out, index = raw[1:-1], [], 0
    simple = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
    while index < len(body):
        if body[index] == "\\":
            out.append(simple[body[index + 1]])
            index += 2
        elif body.startswith("$${", index) or body.startswith("%%{", index):
            out.append(body[index + 1 : index + 3])
            index += 3
        else:
            out.append(body[index])
            index += 1
    return "".join(out)


def resources(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    """Every resource and data block of a configuration, by (type, name), values decoded."""
    parsed = hcl2.loads(text)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for kind in ("resource", "data"):
        for block in parsed.get(kind, []):
            for type_, named in block.items():
                for name, body in named.items():
                    found[(hcl_value(type_), hcl_value(name))] = {
                        key: hcl_value(value)
                        for key, value in body.items()
                        if not key.startswith("__")
                    }
    return found


def test_terraform_with_a_new_group() -> None:
    text = iac.terraform_endpoint(NEW_GROUP)
    parsed = hcl2.loads(text)
    assert hcl_value(parsed["provider"][0]['"aws"']["region"]) == REGION
    found = resources(text)
    name = "privatelink_orders_eu"
    assert found[("aws_vpc", name)] == {"id": VPC}
    assert found[("aws_security_group", name)] == {
        "name": "privatelink-orders-eu-42",
        "description": "Allows TCP 4406 to cluster orders-eu over PrivateLink",
        "vpc_id": f"${{data.aws_vpc.{name}.id}}",
    }
    assert found[("aws_vpc_security_group_ingress_rule", name)] == {
        "security_group_id": f"${{aws_security_group.{name}.id}}",
        "description": "TCP 4406 from the VPC to cluster orders-eu via private endpoint 42",
        "cidr_ipv4": f"${{data.aws_vpc.{name}.cidr_block}}",
        "ip_protocol": "tcp",
        "from_port": 4406,
        "to_port": 4406,
    }
    assert found[("aws_vpc_endpoint", name)] == {
        "vpc_id": VPC,
        "service_name": SERVICE,
        "vpc_endpoint_type": "Interface",
        "subnet_ids": list(SUBNETS),
        "security_group_ids": [f"${{aws_security_group.{name}.id}}"],
    }


def test_terraform_with_the_users_groups_and_private_dns() -> None:
    found = resources(iac.terraform_endpoint(with_groups(NEW_GROUP)))
    assert set(found) == {("aws_vpc_endpoint", "privatelink_orders_eu")}
    assert found[("aws_vpc_endpoint", "privatelink_orders_eu")]["security_group_ids"] == list(
        GROUPS
    )
    dns = resources(
        iac.terraform_private_dns(cluster_name="orders-eu", vpce_id="vpce-0f1e2d3c4b5a69788")
    )
    assert dns == {
        ("aws_vpc_endpoint_private_dns", "privatelink_orders_eu"): {
            "vpc_endpoint_id": "vpce-0f1e2d3c4b5a69788",
            "private_dns_enabled": True,
        }
    }


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=40))
def test_any_text_survives_hcl_quoting(text: str) -> None:
    tricky = text + '${x} %{y} \\ " \n'
    parsed = hcl2.loads("value = " + iac.hcl_string(tricky) + "\n")
    assert hcl_value(parsed["value"]) == tricky


# --- CloudFormation ------------------------------------------------------------------------------


def test_cloudformation_with_a_new_group() -> None:
    template = yaml.safe_load(iac.cloudformation_endpoint(NEW_GROUP))
    assert template["Parameters"] == {
        "VpcCidr": {"Type": "String", "Description": f"The IPv4 CIDR block of {VPC}"}
    }
    group = template["Resources"]["EndpointSecurityGroup"]
    assert group == {
        "Type": "AWS::EC2::SecurityGroup",
        "Properties": {
            "GroupName": "privatelink-orders-eu-42",
            "GroupDescription": "Allows TCP 4406 to cluster orders-eu over PrivateLink",
            "VpcId": VPC,
            "SecurityGroupIngress": [
                {
                    "IpProtocol": "tcp",
                    "FromPort": 4406,
                    "ToPort": 4406,
                    "Description": "TCP 4406 from the VPC to cluster orders-eu via private "
                    "endpoint 42",
                    "CidrIp": {"Ref": "VpcCidr"},
                }
            ],
        },
    }
    assert template["Resources"]["Endpoint"] == {
        "Type": "AWS::EC2::VPCEndpoint",
        "Properties": {
            "VpcEndpointType": "Interface",
            "VpcId": VPC,
            "ServiceName": SERVICE,
            "SubnetIds": list(SUBNETS),
            "SecurityGroupIds": [{"Fn::GetAtt": ["EndpointSecurityGroup", "GroupId"]}],
            "PrivateDnsEnabled": False,
        },
    }
    assert template["Outputs"] == {"VpcEndpointId": {"Value": {"Ref": "Endpoint"}}}
    deploy = commands.cloudformation_deploy_lines(
        vpc_id=VPC, region=REGION, cluster_name="orders-eu", endpoint_id=42, new_group=True
    )
    assert deploy[1] == (
        "aws cloudformation deploy --template-file privatelink.yaml --stack-name "
        f'privatelink-orders-eu-42 --region {REGION} --parameter-overrides "VpcCidr=$VPC_CIDR"'
    )


def test_cloudformation_with_the_users_groups_and_private_dns() -> None:
    template = yaml.safe_load(iac.cloudformation_endpoint(with_groups(NEW_GROUP), private_dns=True))
    assert "Parameters" not in template and list(template["Resources"]) == ["Endpoint"]
    properties = template["Resources"]["Endpoint"]["Properties"]
    assert properties["SecurityGroupIds"] == list(GROUPS)
    assert properties["PrivateDnsEnabled"] is True


def test_snippets_refuse_what_is_not_validated() -> None:
    bad = EndpointValues(
        endpoint_id=1,
        cluster_name="orders",
        port=4000,
        region=REGION,
        service_name=SERVICE,
        vpc_id='vpc-0a1b2c3d"}\nresource "x" "y" {',
    )
    for build in (iac.terraform_endpoint, iac.cloudformation_endpoint):
        with pytest.raises(InvalidInput):
            build(bad)


TWO_VALUES = dataclasses.replace(NEW_GROUP, subnet_ids=(), az_ids=("euw1-az1", "euw1-az3"))


def test_terraform_from_two_values_finds_one_subnet_per_az_id() -> None:
    text = iac.terraform_endpoint(TWO_VALUES)
    parsed = hcl2.loads(text)
    name = "privatelink_orders_eu"
    found = resources(text)
    lookup = found[("aws_subnets", name)]
    assert hcl_value(lookup["for_each"]) == '${toset(["euw1-az1", "euw1-az3"])}'
    filters = {hcl_value(f["name"]): [hcl_value(v) for v in f["values"]] for f in lookup["filter"]}
    assert filters == {"vpc-id": [VPC], "availability-zone-id": ["${each.key}"]}
    [locals_] = parsed["locals"]
    assert "sort(found.ids)[0] if length(found.ids) > 0" in locals_[f"{name}_subnet_ids"]
    endpoint = found[("aws_vpc_endpoint", name)]
    assert endpoint["subnet_ids"] == f"${{local.{name}_subnet_ids}}"
    [lifecycle] = endpoint["lifecycle"]
    [precondition] = lifecycle["precondition"]
    assert hcl_value(precondition["error_message"]) == (
        f"{VPC} has no subnet in euw1-az1, euw1-az3, the AZ IDs the service supports."
    )
    assert "private_dns_enabled" not in endpoint  # the second apply, once accepted


def test_cloudformation_from_two_values_takes_the_subnets_the_deploy_line_finds() -> None:
    template = yaml.safe_load(iac.cloudformation_endpoint(TWO_VALUES))
    assert template["Parameters"]["SubnetIds"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert set(template["Parameters"]) == {"VpcCidr", "SubnetIds"}
    assert template["Resources"]["Endpoint"]["Properties"]["SubnetIds"] == {"Ref": "SubnetIds"}
    lines = commands.cloudformation_deploy_lines(
        vpc_id=VPC,
        region=REGION,
        cluster_name="orders-eu",
        endpoint_id=42,
        new_group=True,
        az_ids=TWO_VALUES.az_ids,
    )
    assert lines[1].startswith("SUBNET_IDS=$(aws ec2 describe-subnets --region eu-west-1 ")
    assert "Name=availability-zone-id,Values=euw1-az1,euw1-az3" in lines[1]
    assert lines[1].endswith("| sort | awk '!seen[$1]++ {print $2}' | paste -sd, -)")
    assert lines[-1].endswith('--parameter-overrides "VpcCidr=$VPC_CIDR" "SubnetIds=$SUBNET_IDS"')
