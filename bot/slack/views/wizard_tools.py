"""The user's side of the endpoint in the tool they choose: the AWS CLI, Terraform or
CloudFormation, chosen with a row of buttons in the modal, and the console's Create endpoint
page. Every snippet carries the same validated values as the CLI commands."""

from __future__ import annotations

from bot.domain import commands, endpoint_script, iac
from bot.domain.iac import EndpointValues, Tool
from bot.services.wizard import WizardState
from bot.slack.ids import ActionId, BlockId
from bot.slack.metadata import ToolChoice
from bot.slack.views.blocks import (
    Block,
    actions,
    button,
    code,
    context,
    escape,
    preformatted,
    section,
)

TOOL_ACTIONS = {
    Tool.CLI: ActionId.SHOW_CLI,
    Tool.TERRAFORM: ActionId.SHOW_TERRAFORM,
    Tool.CLOUDFORMATION: ActionId.SHOW_CLOUDFORMATION,
}
TERRAFORM_FILE = "privatelink.tf"
SECOND_APPLY = (
    "Private DNS takes a second {what}: AWS turns it on for an endpoint only once its "
    "connection is accepted, and this service accepts each connection (the bot does, by "
    "itself). Once it has, this view shows the change to {what}."
)


def tool_choice(chosen: Tool) -> Block:
    """The row of buttons that chooses the tool; the chosen one is highlighted."""
    return actions(
        [
            button(
                tool.label,
                action_id=action_id,
                value=ToolChoice(tool=tool).dump(),
                style="primary" if tool is chosen else None,
            )
            for tool, action_id in TOOL_ACTIONS.items()
        ],
        block_id=BlockId.TOOLS,
    )


def values_of(state: WizardState) -> EndpointValues:
    """What the wizard knows of the user's side of the endpoint."""
    cluster, service, endpoint = state.cluster, state.service, state.endpoint
    assert cluster is not None and service is not None and service.service_name
    assert endpoint is not None
    return EndpointValues(
        endpoint_id=endpoint.id,
        cluster_name=cluster.name,
        port=cluster.port,
        region=cluster.region,
        service_name=service.service_name,
        vpc_id=endpoint.vpc_id,
        subnet_ids=endpoint.subnet_ids,
        security_group_ids=endpoint.security_group_ids,
        account_id=endpoint.account_id,
        az_ids=service.az_ids,
        host=cluster.private_dns_host,
    )


def _deploy(values: EndpointValues, *, new_group: bool) -> str:
    return "\n".join(
        commands.cloudformation_deploy_lines(
            vpc_id=values.vpc_id,
            region=values.region,
            cluster_name=values.cluster_name,
            endpoint_id=values.endpoint_id,
            new_group=new_group,
            az_ids=values.az_ids if values.finds_subnets else (),
        )
    )


def create_blocks(values: EndpointValues, tool: Tool, *, intro: str) -> list[Block]:
    """How to create the endpoint with `tool`, after `intro` (mrkdwn)."""
    port = values.port
    makes = [
        *(["picks one of your subnets in each supported AZ ID"] if values.finds_subnets else []),
        *(
            [f"makes a security group allowing TCP {port} from your VPC"]
            if values.new_group
            else []
        ),
    ]
    also = f" (it {' and '.join(makes)}, too)" if makes else ""
    if tool is Tool.TERRAFORM:
        return [
            section(
                f"{intro}\n*With Terraform*: save this as `{TERRAFORM_FILE}` in an empty "
                f"directory, then run `terraform init` and `terraform apply`{also}:"
            ),
            section(code(iac.terraform_endpoint(values))),
            context(SECOND_APPLY.format(what="apply")),
        ]
    if tool is Tool.CLOUDFORMATION:
        return [
            section(
                f"{intro}\n*With CloudFormation*: save this template as "
                f"`{commands.TEMPLATE_FILE}`{also}:"
            ),
            section(code(iac.cloudformation_endpoint(values))),
            section("Then deploy it:\n" + code(_deploy(values, new_group=values.new_group))),
            context(SECOND_APPLY.format(what="deploy")),
        ]
    if not (values.account_id and values.vpc_id and values.host):
        return [
            section(
                f"{intro}\n*With the AWS CLI*: one block to paste into a shell logged in to your "
                "account. It checks the account and the VPC, picks a subnet in each supported "
                f"AZ ID, makes a security group allowing TCP {port} from your VPC, creates the "
                "endpoint, waits for it and turns on private DNS."
            )
        ]
    return [
        section(
            f"{intro}\n*Paste this block into a shell* logged in to account {values.account_id}"
            " (it needs bash and the AWS CLI). It checks the account and the VPC (stopping, having "
            "made nothing, if either is wrong), "
            + (
                "picks one subnet per supported AZ ID, "
                if not values.subnet_ids
                else "uses your subnets, "
            )
            + (
                f"makes a security group allowing TCP {port} from your VPC, "
                if values.new_group
                else "uses your security groups, "
            )
            + "creates the endpoint, waits until the bot has accepted it and AWS has made it "
            "available, turns on private DNS and prints where to connect. Run again, it finds "
            "what it made and carries on."
        ),
        preformatted(endpoint_script.endpoint_script(values)),
    ]


def run_hint(tool: Tool, *, account: str) -> str:
    """Whose credentials run it, and where the endpoint's id comes from."""
    if tool is Tool.TERRAFORM:
        return (
            f"Apply it with credentials of account {account}: the bot accepts the endpoint by "
            "itself. (With another wizard of this account waiting too, paste the "
            "`vpc_endpoint_id` it prints below.)"
        )
    if tool is Tool.CLOUDFORMATION:
        return (
            f"Deploy it with credentials of account {account}: the bot accepts the endpoint by "
            "itself. (With another wizard of this account waiting too, paste the stack's "
            "output `VpcEndpointId` below.)"
        )
    return (
        "Nothing to click after it: the bot accepts your endpoint by itself and this view moves "
        "on. Made the endpoint another way? Paste its ID (`vpce-…`) below and press Next."
    )


def private_dns_blocks(
    values: EndpointValues, tool: Tool, *, vpce_id: str, host: str
) -> list[Block]:
    """How to turn on private DNS for the user's endpoint with `tool`."""
    if tool is Tool.TERRAFORM:
        return [
            section(
                f"*Enable private DNS on your endpoint with Terraform*, so that `{host}` resolves "
                "inside your VPC: add this to the configuration that made the endpoint (or to "
                f"any with the `aws` provider in {values.region}), then `terraform apply`:\n"
                + code(iac.terraform_private_dns(cluster_name=values.cluster_name, vpce_id=vpce_id))
            )
        ]
    if tool is Tool.CLOUDFORMATION:
        return [
            section(
                f"*Enable private DNS on your endpoint with CloudFormation*, so that `{host}` "
                f"resolves inside your VPC: in `{commands.TEMPLATE_FILE}`, set "
                "`PrivateDnsEnabled: true`, as here:"
            ),
            section(code(iac.cloudformation_endpoint(values, private_dns=True))),
            section(
                "Then deploy it again (the stack keeps its parameters):\n"
                + code(_deploy(values, new_group=False))
            ),
        ]
    return [cli_private_dns(vpce_id=vpce_id, region=values.region, host=host)]


def cli_private_dns(*, vpce_id: str, region: str, host: str) -> Block:
    """The AWS CLI command that turns on private DNS for the user's endpoint."""
    command = commands.modify_endpoint_command(vpce_id=vpce_id, region=region)
    return section(
        f"*Enable private DNS on your endpoint*, so that `{host}` resolves inside your VPC:\n"
        + code(command)
    )


def console_endpoint_line(*, vpce_id: str, region: str) -> Block | None:
    """A link to the user's endpoint in the console, where private DNS can be turned on too."""
    url = commands.console_endpoint_url(region=region, vpce_id=vpce_id)
    if url is None:
        return None
    return context(
        f"In the console instead: open <{url}|{vpce_id}> in {region} and turn private DNS on "
        "for it."
    )


def console_link(region: str) -> str:
    """The console's Create endpoint page in `region`, as a mrkdwn link (or its menu path)."""
    url = commands.console_create_endpoint_url(region=region)
    words = "VPC → Endpoints → Create endpoint"
    return f"<{url}|{words}>" if url else words


def console_line(state: WizardState) -> Block:
    """A short pointer to the console, for whoever prefers it to a command."""
    cluster, service = state.cluster, state.service
    assert cluster is not None and service is not None
    return context(
        f"In the console instead: {console_link(cluster.region)} in {cluster.region}; choose "
        f"*Endpoint services that use NLBs and GWLBs*, enter "
        f"`{escape(service.service_name or '')}`, then your VPC, subnets and security group."
    )
