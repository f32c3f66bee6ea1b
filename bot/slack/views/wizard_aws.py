"""The wizard's stages that deal with AWS: the service, the interface endpoint, the
connection and private DNS (`wizard.py` puts them in the modal)."""

from __future__ import annotations

from bot.domain import commands
from bot.domain.dns import is_verified
from bot.domain.entities import EndpointService
from bot.domain.states import EndpointStatus, ServiceStatus
from bot.services.wizard import WizardState, service_ready
from bot.slack.ids import ActionId, BlockId
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

PREREQUISITES = (
    "*Before you create the endpoint*\n"
    "• Your VPC has the attributes `enableDnsSupport` and `enableDnsHostnames` turned on.\n"
    "• A security group on the endpoint allows inbound TCP on port {port} from your clients.\n"
    "• Your subnets are in the Availability Zone IDs listed above (AZ names differ per account;"
    " the IDs do not)."
)
CONSOLE_STEPS = (
    "*In the AWS Console*\n"
    "1. Open *VPC → Endpoints → Create endpoint* in {region}.\n"
    "2. Choose *Endpoint services that use NLBs and GWLBs* and enter the service name "
    "`{service}`, then *Verify service*.\n"
    "3. Choose your VPC, one subnet in each Availability Zone you use, and the security group.\n"
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


def _create_command(state: WizardState) -> str:
    service, cluster, endpoint = state.service, state.cluster, state.endpoint
    assert service is not None and service.service_name and cluster is not None
    return commands.create_endpoint_template(
        region=cluster.region,
        service_name=service.service_name,
        vpc_id=endpoint.vpc_id if endpoint else None,
        subnet_ids=endpoint.subnet_ids if endpoint else (),
    )


def interface_endpoint(state: WizardState, show_instructions: bool) -> Built:
    cluster, endpoint = state.cluster, state.endpoint
    assert cluster is not None and endpoint is not None
    blocks: list[Block] = []
    if service_ready(state):
        assert state.service is not None
        blocks += [_service_facts(state.service), section(PREREQUISITES.format(port=cluster.port))]
        toggle = "hide" if show_instructions else "show"
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
        if show_instructions:
            blocks += [
                section(
                    CONSOLE_STEPS.format(
                        region=cluster.region, service=escape(state.service.service_name or "")
                    )
                ),
                section(
                    "*With the AWS CLI*, once you have filled in the fields below and the bot "
                    "has allowed your account, the next step shows this command with your "
                    "values:\n" + code(_create_command(state))
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
        text_input(
            block_id=BlockId.SUBNET_IDS,
            action_id=ActionId.VALUE,
            label="Subnet IDs",
            initial=" ".join(endpoint.subnet_ids) or None,
            placeholder="subnet-0a1b2c3d4e5f67890 subnet-1b2c3d4e5f6789012",
            hint="One subnet per Availability Zone, separated by spaces or commas.",
        ),
    ]
    return blocks, "Next"


def accept_connection(state: WizardState, _: bool) -> Built:
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
                section(
                    f":white_check_mark: AWS account {account} is allowed to connect. *Create the "
                    "interface endpoint in your VPC:*\n" + code(_create_command(state))
                ),
                context(
                    f"Run it with credentials of account {account}. It prints the endpoint's "
                    "`VpcEndpointId` (`vpce-…`): paste it below."
                ),
            ]
        else:
            blocks.append(
                section(
                    f":hourglass_flowing_sand: The bot is allowing account {account} on the "
                    "service; this view updates by itself in a few seconds. Then it shows the "
                    "command that creates your interface endpoint: until then AWS would refuse it."
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


def enable_private_dns(state: WizardState, _: bool) -> Built:
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
    command = commands.modify_endpoint_command(vpce_id=endpoint.vpce_id, region=cluster.region)
    return [
        accepted,
        section(
            f"*Enable private DNS on your endpoint*, so that `{host}` resolves inside your VPC:\n"
            + code(command)
        ),
        context(
            "It needs `enableDnsSupport` and `enableDnsHostnames` on the VPC. Then press "
            "Create: the endpoint turns Active when AWS reports the connection available."
        ),
    ], "Create"
