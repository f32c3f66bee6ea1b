"""The wizard's stages that deal with AWS: the service, the interface endpoint, the
connection and private DNS (`wizard.py` puts them in the modal)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import commands
from bot.domain.dns_verification import is_verified
from bot.domain.entities import EndpointService
from bot.domain.iac import Tool
from bot.domain.states import EndpointStatus, ServiceStatus
from bot.services.wizard import WizardState, service_ready
from bot.slack.ids import ActionId, BlockId
from bot.slack.views import wizard_tools
from bot.slack.views.blocks import (
    Block,
    actions,
    button,
    code,
    context,
    divider,
    escape,
    fields,
    section,
    text_input,
)

Built = tuple[list[Block], str | None]


@dataclass(frozen=True, slots=True)
class Shown:
    """What the person chose to see: the instructions, and in which tool."""

    instructions: bool = False
    tool: Tool = Tool.CLI


PREREQUISITES = (
    "*Two values are all it takes*: your AWS account ID and the VPC to connect from. After Next, "
    "this view shows one block to paste into a shell logged in to that account: it checks the "
    "VPC (`enableDnsSupport` and `enableDnsHostnames` on), picks one subnet in each Availability "
    "Zone ID above, makes a security group allowing TCP {port} from your VPC, and creates the "
    "endpoint. The bot accepts it by itself. Subnets and security groups are yours to choose "
    "below if you prefer (AZ names differ per account; the IDs do not)."
)
CONSOLE_STEPS = (
    "*In the AWS Console*\n"
    "1. Open {link} in {region}.\n"
    "2. Choose *Endpoint services that use NLBs and GWLBs* and enter the service name "
    "`{service}`, then *Verify service*.\n"
    "3. Choose your VPC, one subnet in each Availability Zone you use, and a security group "
    "that allows TCP {port} from your clients.\n"
    "4. Create the endpoint and copy its ID (`vpce-…`) into the next step."
)


def _service_facts(service: EndpointService) -> Block:
    return fields(
        [
            ("Service name", f"`{escape(service.service_name or '')}`"),
            ("Availability Zone IDs", ", ".join(f"`{az}`" for az in service.az_ids) or "—"),
        ]
    )


def _service_waiting(state: WizardState) -> Block:
    service, cluster = state.service, state.cluster
    assert cluster is not None
    if service is not None and service.status in (ServiceStatus.DELETING, ServiceStatus.DELETED):
        return section(
            f":wastebasket: The endpoint service of *{escape(cluster.name)}* is being deleted "
            "because the cluster was dropped; this wizard cannot go on."
        )
    if service is not None and service.status is ServiceStatus.FAILED:
        return section(
            f":x: The endpoint service could not be created: "
            f"{escape(service.failure_reason or 'unknown reason')}. "
            "Submit this step again to retry."
        )
    return section(
        f":hourglass_flowing_sand: Creating the endpoint service for "
        f"*{escape(cluster.name)}* in {cluster.region}. On AWS this takes a few "
        "minutes; this view updates by itself when it is ready. You can fill in the "
        "fields meanwhile."
    )


def _subnets_that_fit(state: WizardState) -> Block:
    """The command that lists the user's subnets in the service's AZ IDs."""
    cluster, service, endpoint = state.cluster, state.service, state.endpoint
    assert cluster is not None and service is not None and endpoint is not None
    command = commands.describe_subnets_template(
        vpc_id=endpoint.vpc_id, region=cluster.region, az_ids=service.az_ids
    )
    return section(
        "*Which of your subnets fit?* This lists your VPC's subnets in the supported "
        "Availability Zone IDs, one per line (subnet, AZ ID, name): pick one per AZ.\n"
        + code(command)
    )


def interface_endpoint(state: WizardState, shown: Shown) -> Built:
    cluster, endpoint = state.cluster, state.endpoint
    assert cluster is not None and endpoint is not None
    blocks: list[Block] = []
    fits: list[Block] = []
    if service_ready(state):
        assert state.service is not None
        blocks += [_service_facts(state.service), section(PREREQUISITES.format(port=cluster.port))]
        fits = [_subnets_that_fit(state)] if state.service.az_ids else []
        toggle = "hide" if shown.instructions else "show"
        blocks.append(
            actions(
                [
                    button(
                        f"{toggle.capitalize()} instructions",
                        action_id=ActionId.TOGGLE_INSTRUCTIONS,
                    )
                ],
                block_id=BlockId.INSTRUCTIONS,
            )
        )
        if shown.instructions:
            blocks += [
                section(
                    CONSOLE_STEPS.format(
                        link=wizard_tools.console_link(cluster.region),
                        region=cluster.region,
                        service=escape(state.service.service_name or ""),
                        port=cluster.port,
                    )
                ),
                wizard_tools.tool_choice(shown.tool),
                *wizard_tools.create_blocks(
                    wizard_tools.values_of(state),
                    shown.tool,
                    intro="Once you have filled in the fields below and the bot has allowed your "
                    "account, the next step shows this with your values.",
                ),
            ]
        if state.service.allows(endpoint.account_id):
            blocks.append(
                context(
                    f":white_check_mark: AWS account {endpoint.account_id} is allowed to connect "
                    "to this service already."
                )
            )
    else:
        blocks.append(_service_waiting(state))
    blocks += [
        divider(),
        text_input(
            block_id=BlockId.ACCOUNT_ID,
            action_id=ActionId.VALUE,
            label="AWS account ID",
            initial=endpoint.account_id,
            placeholder="123456789012",
            hint="The 12-digit account that owns your VPC: `aws sts get-caller-identity "
            "--query Account`. Only this account may connect: after Next, the bot allows it on "
            "the service before showing the command to run.",
        ),
        text_input(
            block_id=BlockId.VPC_ID,
            action_id=ActionId.VALUE,
            label="VPC ID",
            initial=endpoint.vpc_id,
            placeholder="vpc-0a1b2c3d4e5f67890",
        ),
        *fits,
        {
            **text_input(
                block_id=BlockId.SUBNET_IDS,
                action_id=ActionId.VALUE,
                label="Subnet IDs",
                initial=" ".join(endpoint.subnet_ids) or None,
                placeholder="subnet-0a1b2c3d4e5f67890 subnet-1b2c3d4e5f6789012",
                hint="Optional: one subnet per Availability Zone, separated by spaces or commas. "
                "Leave it empty and the block picks one in each supported AZ ID.",
            ),
            "optional": True,
        },
        {
            **text_input(
                block_id=BlockId.SECURITY_GROUP_IDS,
                action_id=ActionId.VALUE,
                label="Security group IDs",
                initial=" ".join(endpoint.security_group_ids) or None,
                placeholder="sg-0a1b2c3d4e5f67890",
                hint=f"Optional: groups in this VPC that allow inbound TCP {cluster.port} from "
                "your clients, separated by spaces or commas. Leave it empty and the block "
                "makes one that admits your VPC.",
            ),
            "optional": True,
        },
    ]
    return blocks, "Next"


def accept_connection(state: WizardState, shown: Shown) -> Built:
    endpoint = state.endpoint
    assert endpoint is not None
    if endpoint.status is EndpointStatus.INITIATING and endpoint.vpce_id:
        return [
            section(
                f":mag: Verifying `{endpoint.vpce_id}` and accepting its connection. "
                "This view moves on by itself, usually within a minute. You can close "
                "it: the result is posted in the project's channel."
            )
        ], None
    blocks: list[Block] = []
    account = endpoint.account_id or "(none given)"
    if service_ready(state) and state.service is not None:
        blocks.append(_service_facts(state.service))
        if state.service.allows(endpoint.account_id):
            blocks += [
                wizard_tools.tool_choice(shown.tool),
                *wizard_tools.create_blocks(
                    wizard_tools.values_of(state),
                    shown.tool,
                    intro=f":white_check_mark: AWS account {account} is allowed to connect.",
                ),
                context(wizard_tools.run_hint(shown.tool, account=account)),
                wizard_tools.console_line(state),
            ]
        else:
            blocks.append(
                section(
                    f":hourglass_flowing_sand: The bot is allowing account {account} on the "
                    "service; this view updates by itself in a few seconds. Then it shows the "
                    "block that creates your interface endpoint: until then AWS would refuse it."
                )
            )
    else:
        blocks.append(_service_waiting(state))
    suggested = endpoint.suggested_vpce_id if endpoint.vpce_id is None else None
    if suggested:
        blocks.append(
            context(
                f"AWS shows a connection request from `{suggested}` in account "
                f"{endpoint.account_id}: it is filled in below. Check it is yours."
            )
        )
    blocks.append(
        text_input(
            block_id=BlockId.VPCE_ID,
            action_id=ActionId.VALUE,
            label="VPC endpoint ID",
            initial=endpoint.vpce_id or suggested,
            placeholder="vpce-0a1b2c3d4e5f67890",
            hint="The bot accepts the connection only from this endpoint, in your account.",
        )
    )
    return blocks, "Next"


def enable_private_dns(state: WizardState, shown: Shown) -> Built:
    endpoint, cluster, service = state.endpoint, state.cluster, state.service
    assert endpoint is not None and endpoint.vpce_id and cluster is not None
    host = escape(cluster.private_dns_host or "")
    accepted = section(f":white_check_mark: The connection from `{endpoint.vpce_id}` is accepted.")
    if service is not None and is_verified(service.dns_state) is False:
        domain = escape(service.private_dns_name or cluster.private_dns_host or "")
        return [
            accepted,
            section(
                f":warning: *Private DNS cannot be turned on yet.* The provider has not verified "
                f"`{domain}` with AWS, so enabling private DNS on your endpoint would fail with "
                "AWS's error (the name is not verified); the project's owners have been asked "
                "to verify it."
            ),
            section(
                "You can press *Create* now: the endpoint turns Active when AWS reports the "
                f"connection available, and the channel hears when `{host}` resolves. Until then, "
                "connect with your endpoint's own DNS names, from "
                f"`aws ec2 describe-vpc-endpoints --vpc-endpoint-ids {endpoint.vpce_id} "
                f"--region {cluster.region}` (`DnsEntries`)."
            ),
        ], "Create"
    if service is not None and service.service_name:
        how = [
            wizard_tools.tool_choice(shown.tool),
            *wizard_tools.private_dns_blocks(
                wizard_tools.values_of(state), shown.tool, vpce_id=endpoint.vpce_id, host=host
            ),
        ]
    else:  # the service is not known here (e.g. being made again): the AWS CLI needs nothing of it
        how = [
            wizard_tools.cli_private_dns(vpce_id=endpoint.vpce_id, region=cluster.region, host=host)
        ]
    console = wizard_tools.console_endpoint_line(vpce_id=endpoint.vpce_id, region=cluster.region)
    return [
        accepted,
        *how,
        *([console] if console else []),
        context(
            "It needs `enableDnsSupport` and `enableDnsHostnames` on the VPC. Then press "
            "Create: the endpoint turns Active when AWS reports the connection available."
        ),
    ], "Create"
