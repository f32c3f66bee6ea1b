"""The one paste: a bash script that makes the user's side of a private endpoint, start to end.

The user types their AWS account and VPC, and pastes this into a shell logged in to that
account. It checks before it makes anything (the account, the VPC and its DNS attributes, a
subnet in each supported AZ ID), then finds or makes each part, so that running it again carries
on where it stopped and never makes a second one: the security group by its name, the endpoint
by its Name tag. It waits for the bot to accept the connection and AWS to make it available,
turns private DNS on once the provider's name is verified, and prints where to connect.

The block is a here-document fed to bash: whatever shell it is pasted into, it runs in bash,
its `exit` ends only the block, and the pasting shell expands nothing inside it (`$`, `!`).
Every value is validated and shell-quoted here; the script's own variables are the only words
written as they are. A step that fails stops with one sentence after AWS's own error.
"""

from __future__ import annotations

import shlex

from bot.domain.commands import (
    endpoint_resource_name,
    rule_description,
    security_group_description,
)
from bot.domain.iac import EndpointValues
from bot.domain.validation import (
    parse_account_id,
    parse_az_id,
    parse_dns_name,
    parse_name,
    parse_port,
    parse_region,
    parse_security_group_ids,
    parse_service_name,
    parse_subnet_ids,
    parse_vpc_id,
)

DELIMITER = "PRIVATELINK"
WAIT_SECONDS = 600
"""How long the script waits for acceptance and `available` (pasting it again waits more)."""
POLL_SECONDS = 5
CLOSED_STATES = ("rejected", "failed", "expired", "deleting", "deleted")
"""An endpoint in one of these states carries no traffic: the wait stops, a rerun makes anew."""
LIVE_STATES = '["pendingAcceptance","pending","available"]'


def _values(values: EndpointValues) -> list[str]:
    assert values.account_id and values.vpc_id and values.host, "account, VPC and host given"
    account = parse_account_id(values.account_id)
    subnets = " ".join(parse_subnet_ids(" ".join(values.subnet_ids))) if values.subnet_ids else ""
    groups = " ".join(parse_security_group_ids(" ".join(values.security_group_ids)))
    name = endpoint_resource_name(cluster_name=values.cluster_name, endpoint_id=values.endpoint_id)
    description = security_group_description(cluster_name=values.cluster_name, port=values.port)
    return [
        f"# privatelink-bot: private endpoint #{int(values.endpoint_id)} to cluster "
        f"{parse_name(values.cluster_name)}, as AWS account {account}",
        "set -euo pipefail",
        f"R={shlex.quote(parse_region(values.region))} ACCOUNT={account} "
        f"VPC={shlex.quote(parse_vpc_id(values.vpc_id))} PORT={parse_port(values.port)}",
        f"SERVICE={shlex.quote(parse_service_name(values.service_name))}",
        f"ZONES={shlex.quote(','.join(parse_az_id(az) for az in values.az_ids))} "
        f"HOST={shlex.quote(parse_dns_name(values.host))}",
        f"NAME={shlex.quote(name)} DESCRIPTION={shlex.quote(description)}",
        "RULE="
        + shlex.quote(
            rule_description(
                cluster_name=values.cluster_name, port=values.port, endpoint_id=values.endpoint_id
            )
        ),
        f"SUBNETS={shlex.quote(subnets)} SG={shlex.quote(groups)}",
    ]


HELPERS = [
    'stop() { echo "Stopped: $*" >&2; exit 1; }',
    "trap 'stop \"line $LINENO failed; AWS says why above. Fix that and paste again.\"' ERR",
    'q() { aws ec2 --region "$R" --output text "$@"; }',
]
CHECKS = [
    'echo "Checking account $ACCOUNT and VPC $VPC"',
    'ME=$(aws sts get-caller-identity --region "$R" --query Account --output text)',
    '[ "$ME" = "$ACCOUNT" ] || stop "these credentials are of account $ME, not $ACCOUNT.'
    ' Nothing was created."',
    'q describe-vpcs --vpc-ids "$VPC" >/dev/null',
    "dns_on() {",
    '  [ "$(q describe-vpc-attribute --vpc-id "$VPC" --attribute "$1" --query "${1^}.Value")"'
    ' = True ] || stop "$1 is off on $VPC. Nothing was created. Turn it on, then paste again:'
    ' aws ec2 modify-vpc-attribute --region $R --vpc-id $VPC --$2 Value=true"',
    "}",
    "dns_on enableDnsSupport enable-dns-support",
    "dns_on enableDnsHostnames enable-dns-hostnames",
    '[ -n "$SUBNETS" ] || SUBNETS=$(q describe-subnets --filters "Name=vpc-id,Values=$VPC"'
    ' "Name=availability-zone-id,Values=$ZONES"'
    " --query 'Subnets[].[AvailabilityZoneId,SubnetId]' | sort | awk '!seen[$1]++ {print $2}')",
    '[ -n "$SUBNETS" ] || stop "$VPC has no subnet in $ZONES, the AZ IDs the service supports.'
    ' Nothing was created."',
    'echo "Subnets: "$SUBNETS',
]


def _group(values: EndpointValues) -> list[str]:
    port = parse_port(values.port)
    return [
        'if [ -z "$SG" ]; then',
        '  SG=$(q describe-security-groups --filters "Name=vpc-id,Values=$VPC"'
        ' "Name=group-name,Values=$NAME" --query "SecurityGroups[0].GroupId")',
        '  [ "$SG" != None ] || SG=$(q create-security-group --vpc-id "$VPC" --group-name "$NAME"'
        ' --description "$DESCRIPTION" --query GroupId)',
        '  HAVE=" "$(q describe-security-groups --group-ids "$SG" --query'
        f" 'SecurityGroups[0].IpPermissions[?FromPort==`{port}`].IpRanges[].CidrIp')\" \"",
        '  for CIDR in $(q describe-vpcs --vpc-ids "$VPC"'
        " --query 'Vpcs[0].CidrBlockAssociationSet[].CidrBlock'); do",
        '    [[ $HAVE == *" $CIDR "* ]] || q authorize-security-group-ingress --group-id "$SG"'
        ' --ip-permissions "IpProtocol=tcp,FromPort=$PORT,ToPort=$PORT,'
        "IpRanges=[{CidrIp=$CIDR,Description='$RULE'}]\" >/dev/null",
        "  done",
        "fi",
        'echo "Security groups: $SG"',
    ]


ENDPOINT = [
    'VPCE=$(q describe-vpc-endpoints --filters "Name=vpc-id,Values=$VPC"'
    ' "Name=tag:Name,Values=$NAME"'
    f" --query 'VpcEndpoints[?contains(`{LIVE_STATES}`,State)]|[0].VpcEndpointId')",
    '[ "$VPCE" != None ] || VPCE=$(q create-vpc-endpoint --vpc-endpoint-type Interface'
    ' --vpc-id "$VPC" --service-name "$SERVICE" --subnet-ids $SUBNETS --security-group-ids $SG'
    " --no-private-dns-enabled --tag-specifications"
    ' "ResourceType=vpc-endpoint,Tags=[{Key=Name,Value=$NAME}]" --query VpcEndpoint.VpcEndpointId)',
]
WAIT = [
    'echo "Endpoint $VPCE: waiting for the provider to accept it, up to'
    f' {WAIT_SECONDS // 60} minutes"',
    f"for T in $(seq 0 {POLL_SECONDS} {WAIT_SECONDS}); do",
    '  read -r STATE WHY <<< "$(q describe-vpc-endpoints --vpc-endpoint-ids "$VPCE"'
    " --query 'VpcEndpoints[0].[State,LastError.Message]')\"",
    '  case "${STATE,,}" in',
    "    available) break ;;",
    f'    {"|".join(CLOSED_STATES).lower()}) echo; stop "$VPCE is $STATE on AWS ($WHY): the'
    " project's channel in Slack says why.\" ;;",
    "  esac",
    '  printf "\\r  %s after %s s" "$STATE" "$T"',
    f"  sleep {POLL_SECONDS}",
    "done",
    'echo; [ "${STATE,,}" = available ] || stop "still $STATE; paste again to wait more."',
]
PRIVATE_DNS = [
    'ON="aws ec2 modify-vpc-endpoint --region $R --vpc-endpoint-id $VPCE --private-dns-enabled"',
    'if [ "$(q describe-vpc-endpoint-services --service-names "$SERVICE"'
    " --query 'ServiceDetails[0].PrivateDnsNameVerificationState')\" = verified ]; then",
    '  [ "$(q describe-vpc-endpoints --vpc-endpoint-ids "$VPCE"'
    " --query 'VpcEndpoints[0].PrivateDnsEnabled')\" = True ] || $ON >/dev/null",
    '  echo "Done: $VPCE is available with private DNS. Connect to $HOST port $PORT."',
    "else",
    '  DNS=$(q describe-vpc-endpoints --vpc-endpoint-ids "$VPCE"'
    " --query 'VpcEndpoints[0].DnsEntries[0].DnsName')",
    '  echo "Done: $VPCE is available. Connect to $DNS port $PORT for now. $HOST works once'
    ' the provider has verified its domain with AWS and you have run: $ON"',
    "fi",
]


def endpoint_script(values: EndpointValues) -> str:
    """The whole block: checks, then the group, the endpoint, the wait and private DNS."""
    return "\n".join(
        [
            f"bash <<'{DELIMITER}'",
            *_values(values),
            *HELPERS,
            *CHECKS,
            *_group(values),
            *ENDPOINT,
            *WAIT,
            *PRIVATE_DNS,
            DELIMITER,
        ]
    )
