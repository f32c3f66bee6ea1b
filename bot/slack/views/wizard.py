"""The wizard's modal, one builder per stage; the view is replaced stage by stage."""

from __future__ import annotations

from typing import Any

from bot.domain.iac import Tool
from bot.domain.rules import RETRYABLE_STAGES
from bot.domain.states import EndpointStatus, Stage
from bot.domain.validation import AWS_REGIONS
from bot.services.wizard import WizardState
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.metadata import WizardMetadata
from bot.slack.views import wizard_aws
from bot.slack.views.blocks import (
    Block,
    context,
    escape,
    fields,
    modal,
    option,
    section,
    select_input,
)
from bot.slack.views.wizard_aws import Built, Shown

TITLE = "Private endpoint"
SELECT_MAX = 100
STEPS = [
    Stage.CHOOSE_CLUSTER,
    Stage.SERVICE_ENDPOINT,
    Stage.INTERFACE_ENDPOINT,
    Stage.ACCEPT_ENDPOINT_CONNECTION,
    Stage.ENABLE_PRIVATE_DNS,
]


def wizard_view(
    state: WizardState, *, show_instructions: bool = False, tool: Tool = Tool.CLI
) -> dict[str, Any]:
    """The modal for the wizard as it stands, with the instructions shown or not, and the
    user's side of the endpoint in `tool` (AWS CLI, Terraform or CloudFormation)."""
    endpoint = state.endpoint
    metadata = WizardMetadata(
        project_id=state.project.id,
        stage=state.stage,
        channel_id=state.channel_id,
        cluster_id=state.cluster.id if state.cluster else None,
        endpoint_id=endpoint.id if endpoint else None,
        show_instructions=show_instructions,
        tool=tool,
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
        Stage.INTERFACE_ENDPOINT: wizard_aws.interface_endpoint,
        Stage.ACCEPT_ENDPOINT_CONNECTION: wizard_aws.accept_connection,
        Stage.ENABLE_PRIVATE_DNS: wizard_aws.enable_private_dns,
        Stage.DONE: _done,
    }[state.stage]
    stage_blocks, submit = build(state, Shown(instructions=show_instructions, tool=tool))
    return modal(
        title=TITLE,
        blocks=blocks + stage_blocks,
        callback_id=CallbackId.WIZARD,
        private_metadata=metadata.dump(),
        submit=submit,
        close="Cancel" if submit else "Close",
        notify_on_close=endpoint is not None,
    )


def _choose_cluster(state: WizardState, _: Shown) -> Built:
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


def _service_endpoint(state: WizardState, _: Shown) -> Built:
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


def _done(state: WizardState, _: Shown) -> Built:
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
