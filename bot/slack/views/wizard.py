"""The wizard's modal, one builder per stage; the view is replaced stage by stage."""

from __future__ import annotations

from typing import Any

from bot.domain import commands
from bot.domain.dns import is_verified
from bot.domain.entities import EndpointService
from bot.domain.rules import RETRYABLE_STAGES
from bot.domain.states import EndpointStatus, ServiceStatus, Stage
from bot.domain.validation import AWS_REGIONS
from bot.services.wizard import WizardState, service_ready
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.metadata import WizardMetadata
from bot.slack.views.blocks import (
    Block,
    actions,
    button,
    code,
    context,
    divider,
    escape,
    fields,
    modal,
    option,
    section,
    select_input,
    text_input,
)

TITLE = "Private endpoint"
SELECT_MAX = 100
STEPS = [
    Stage.CHOOSE_CLUSTER,
    Stage.SERVICE_ENDPOINT,
    Stage.INTERFACE_ENDPOINT,
    Stage.ACCEPT_ENDPOINT_CONNECTION,
    Stage.ENABLE_PRIVATE_DNS,
]
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


def wizard_view(state: WizardState, *, show_instructions: bool = False) -> dict[str, Any]:
    """The modal for the wizard as it stands."""
    endpoint = state.endpoint
    metadata = WizardMetadata(
        project_id=state.project.id,
        stage=state.stage,
        channel_id=state.channel_id,
        cluster_id=state.cluster.id if state.cluster else None,
        endpoint_id=endpoint.id if endpoint else None,
        show_instructions=show_instructions,
    )
    blocks: list[Block] = []
    if state.stage in STEPS:
        step = STEPS.index(state.stage) + 1
        blocks.append(
            context(
                f"Step {step} of {len(STEPS)} · *{state.stage.label}* · "
                f"project *{escape(state.project.name)}*"
            )
        )
    if state.notice:
        blocks.append(section(f":information_source: {escape(state.notice)}"))
    if endpoint is not None and endpoint.status is EndpointStatus.FAILED:
        retry = (
            "submit this step again"
            if state.stage in RETRYABLE_STAGES
            else (f"use `/private-endpoint edit {endpoint.id}` to start again from a new endpoint")
        )
        blocks.append(
            section(
                f":x: *This step failed:* {escape(endpoint.failure_reason or '')}"
                f"\nFix what it names, then {retry}."
            )
        )
    build = {
        Stage.CHOOSE_CLUSTER: _choose_cluster,
        Stage.SERVICE_ENDPOINT: _service_endpoint,
        Stage.INTERFACE_ENDPOINT: _interface_endpoint,
        Stage.ACCEPT_ENDPOINT_CONNECTION: _accept_connection,
        Stage.ENABLE_PRIVATE_DNS: _enable_private_dns,
        Stage.DONE: _done,
    }[state.stage]
    stage_blocks, submit = build(state, show_instructions)
    return modal(
        title=TITLE,
        blocks=blocks + stage_blocks,
        callback_id=CallbackId.WIZARD,
        private_metadata=metadata.dump(),
        submit=submit,
        close="Cancel" if submit else "Close",
        notify_on_close=endpoint is not None,
    )


Built = tuple[list[Block], str | None]


def _choose_cluster(state: WizardState, _: bool) -> Built:
    choice = state.choice
    assert choice is not None
    excluded = "\n".join(f"• *{escape(c.name)}*: {escape(reason)}" for c, reason in choice.excluded)
    if not choice.eligible:
        blocks = [
            section(
                f"No cluster in *{escape(state.project.name)}* can have a private endpoint yet."
            )
        ]
        if excluded:
            blocks.append(section(excluded))
        blocks.append(
            context(
                "Private endpoints need a Dedicated cluster on AWS that is active."
                " Ask your platform team to add one, or try again once a creating"
                " cluster is active."
            )
        )
        return blocks, None
    # A select holds 100 options: the default first, then the others by name.
    offered = sorted(choice.eligible, key=lambda c: (c != choice.default, c.name))[:SELECT_MAX]
    options = [option(f"{c.name} ({c.region})", str(c.id)) for c in offered]
    initial = options[0] if choice.default is not None else None
    blocks = [
        select_input(
            block_id=BlockId.CLUSTER,
            action_id=ActionId.VALUE,
            label="Cluster",
            options=options,
            initial=initial,
            hint="The cluster your VPC should reach privately.",
        )
    ]
    if len(choice.eligible) > SELECT_MAX:
        blocks.append(
            context(
                f"{len(choice.eligible) - SELECT_MAX} more eligible clusters are "
                "not listed: name one in `/private-endpoint create <cluster>`."
            )
        )
    if excluded:
        blocks.append(context(f"Not offered:\n{excluded}"))
    return blocks, "Next"


def _service_endpoint(state: WizardState, _: bool) -> Built:
    cluster = state.cluster
    assert cluster is not None
    options = [option(region, region) for region in AWS_REGIONS]
    initial = next((o for o in options if o["value"] == cluster.region), None)
    if initial is None:
        initial = option(cluster.region, cluster.region)
        options.insert(0, initial)
    return [
        fields([("Cluster", escape(cluster.name)), ("Cloud provider", "AWS")]),
        select_input(
            block_id=BlockId.REGION,
            action_id=ActionId.VALUE,
            label="Region",
            options=options,
            initial=initial,
            hint=f"The endpoint service runs in the cluster's region, {cluster.region}."
            " Cross-region private endpoints are not supported.",
        ),
    ], "Next"


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


def _interface_endpoint(state: WizardState, show_instructions: bool) -> Built:
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


def _accept_connection(state: WizardState, _: bool) -> Built:
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


def _enable_private_dns(state: WizardState, _: bool) -> Built:
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


def _done(state: WizardState, _: bool) -> Built:
    endpoint, cluster = state.endpoint, state.cluster
    assert endpoint is not None and cluster is not None
    host = f"`{escape(cluster.private_dns_host or '')}:{cluster.port}`"
    if endpoint.status is EndpointStatus.ACTIVE:
        text = f":large_green_circle: Private endpoint #{endpoint.id} is *active*: {host}."
    elif endpoint.status is EndpointStatus.DELETING:
        text = f"Private endpoint #{endpoint.id} is being deleted."
    elif endpoint.status is EndpointStatus.FAILED:
        text = (
            f":x: Private endpoint #{endpoint.id} failed: "
            f"{escape(endpoint.failure_reason or 'no reason given')}. "
            f"Use `/private-endpoint edit {endpoint.id}` to start again from a new endpoint."
        )
    else:
        text = (
            f":hourglass_flowing_sand: Private endpoint #{endpoint.id} is being finalized. "
            f"When AWS reports the connection available it turns *active*, and the "
            f"connection strings for {host} are posted in <#{state.channel_id}>."
        )
    return [section(text)], None
