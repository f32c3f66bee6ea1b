"""The wizard's user side in each tool, the subnets that fit, Terminate's clean-up and GCP
clusters: valid Block Kit at the largest values, and no snippet cut short."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest

from bot.domain.entities import EndpointService
from bot.domain.iac import Tool
from bot.domain.rules import choose_cluster
from bot.domain.states import Cloud, EndpointStatus, Stage
from bot.domain.transitions import EndpointEvent, endpoint_transition
from bot.notices.endpoint import EndpointSnapshot
from bot.services import changes
from bot.services.endpoints import EndpointRow, Listing
from bot.services.wizard import WizardState
from bot.slack.views import alerts, messages
from bot.slack.views.home import home_view
from bot.slack.views.wizard import wizard_view
from bot.slack.views.wizard_tools import TOOL_ACTIONS
from bot.storage import event_log, orm
from sandbox.demo_support import scripts_in
from tests.slack.checks import check_message, check_view
from tests.slack.test_views import NOW, PROJECT, SERVICES, cluster, endpoint

LONG_NAME = "c" * 63
ACCOUNT = "111122223333"
SUBNETS = tuple(f"subnet-{i:017x}" for i in range(16))
GROUPS = tuple(f"sg-{i:017x}" for i in range(16))
VPCE = "vpce-0f1e2d3c4b5a69788"
STAGES = [
    (Stage.INTERFACE_ENDPOINT, EndpointStatus.NOT_CONFIGURED),
    (Stage.ACCEPT_ENDPOINT_CONNECTION, EndpointStatus.INITIATING),
    (Stage.ENABLE_PRIVATE_DNS, EndpointStatus.PENDING),
]


def allowed(service: EndpointService = SERVICES["active"], **kw: Any) -> EndpointService:
    return dataclasses.replace(service, allowed_accounts=(ACCOUNT,), **kw)


def wizard(
    stage: Stage,
    status: EndpointStatus,
    *,
    groups: tuple[str, ...] = (),
    largest: bool = False,
    **kw: Any,
) -> WizardState:
    values: dict[str, Any] = {"security_group_ids": groups, "account_id": ACCOUNT, **kw}
    if stage is not Stage.ENABLE_PRIVATE_DNS:
        values["vpce_id"] = None
    if largest:
        values |= {"id": 2**31 - 1, "subnet_ids": SUBNETS}
    service = allowed(az_ids=("apse4-az1", "apse4-az2", "apse4-az3")) if largest else allowed()
    return WizardState(
        project=PROJECT,
        channel_id="C0PAYMENTS",
        stage=stage,
        cluster=cluster(name=LONG_NAME, region="ap-southeast-4", port=65535)
        if largest
        else cluster(),
        service=service,
        endpoint=endpoint(status, stage, **values),
    )


def texts(view: dict[str, Any]) -> str:
    return str(view)


@pytest.mark.parametrize(
    ("stage", "tool", "groups", "show"),
    [
        (stage, tool, groups, show)
        for (stage, _), tool, groups, show in itertools.product(
            STAGES, list(Tool), [(), GROUPS], [False, True]
        )
    ],
)
def test_every_tool_at_the_largest_values_fits_block_kit(
    stage: Stage, tool: Tool, groups: tuple[str, ...], show: bool
) -> None:
    status = dict(STAGES)[stage]
    view = check_view(
        wizard_view(
            wizard(stage, status, groups=groups, largest=True), show_instructions=show, tool=tool
        )
    )
    for block in view["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        assert len(text) < 3000 and not text.endswith("…"), "a snippet would be cut short"
    for snippet in scripts_in(view):
        assert snippet.count("```") == 0 and snippet.strip()


def test_the_chosen_tool_is_highlighted_and_carried_in_the_metadata() -> None:
    state = wizard(Stage.ACCEPT_ENDPOINT_CONNECTION, EndpointStatus.INITIATING)
    view = check_view(wizard_view(state, tool=Tool.TERRAFORM))
    [choice] = [b for b in view["blocks"] if b.get("block_id") == "tools"]
    styles = {e["action_id"]: e.get("style") for e in choice["elements"]}
    assert styles == {
        TOOL_ACTIONS[Tool.CLI]: None,
        TOOL_ACTIONS[Tool.TERRAFORM]: "primary",
        TOOL_ACTIONS[Tool.CLOUDFORMATION]: None,
    }
    assert '"tool":"terraform"' in view["private_metadata"]
    [terraform] = scripts_in(view)
    assert 'resource "aws_vpc_endpoint" "privatelink_orders"' in terraform
    assert 'resource "aws_security_group" "privatelink_orders"' in terraform


def test_the_accept_stage_shows_one_block_that_makes_a_group_only_without_the_users() -> None:
    new = check_view(
        wizard_view(wizard(Stage.ACCEPT_ENDPOINT_CONNECTION, EndpointStatus.INITIATING))
    )
    [script] = scripts_in(new)
    assert script.splitlines()[0] == "bash <<'PRIVATELINK'"
    assert script.splitlines()[-1] == "PRIVATELINK" and "SG=''" in script
    assert "makes a security group allowing TCP 4000 from your VPC" in texts(new)
    given = wizard_view(
        wizard(Stage.ACCEPT_ENDPOINT_CONNECTION, EndpointStatus.INITIATING, groups=GROUPS[:2])
    )
    [block] = scripts_in(given)
    assert f"SG='{GROUPS[0]} {GROUPS[1]}'" in block
    assert "uses your security groups" in texts(given)
    assert (
        "https://us-west-2.console.aws.amazon.com/vpc/home?region=us-west-2#CreateVpcEndpoint:"
        in (texts(given))
    )


def test_the_interface_stage_lists_the_subnets_that_fit_and_takes_groups() -> None:
    state = wizard(Stage.INTERFACE_ENDPOINT, EndpointStatus.NOT_CONFIGURED, vpc_id=None)
    view = check_view(wizard_view(state))
    [subnets] = [c for c in scripts_in(view) if "describe-subnets" in c]
    assert "Name=availability-zone-id,Values=usw2-az1,usw2-az2" in subnets
    assert "'Name=vpc-id,Values=<VPC ID>'" in subnets
    [field] = [b for b in view["blocks"] if b.get("block_id") == "security_groups"]
    assert field["optional"] is True and field["label"]["text"] == "Security group IDs"
    shown = check_view(wizard_view(state, show_instructions=True, tool=Tool.CLOUDFORMATION))
    assert "CreateVpcEndpoint:" in texts(shown) and "AWS::EC2::VPCEndpoint" in texts(shown)


def test_private_dns_in_each_tool() -> None:
    state = wizard(Stage.ENABLE_PRIVATE_DNS, EndpointStatus.PENDING, vpce_id=VPCE)
    cli, terraform, cloudformation = (
        scripts_in(check_view(wizard_view(state, tool=tool))) for tool in Tool
    )
    assert cli == [
        f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {VPCE} --region us-west-2 "
        "--private-dns-enabled"
    ]
    assert 'resource "aws_vpc_endpoint_private_dns"' in terraform[0] and VPCE in terraform[0]
    assert "PrivateDnsEnabled: true" in cloudformation[0]
    assert (
        "https://us-west-2.console.aws.amazon.com/vpc/home?region=us-west-2"
        f"#EndpointDetails:vpcEndpointId={VPCE}|{VPCE}>"
    ) in texts(wizard_view(state))
    assert cloudformation[1].startswith(
        "aws cloudformation deploy --template-file privatelink.yaml"
    )


def test_a_gcp_cluster_in_a_gcp_region_is_not_offered() -> None:
    gcp = cluster(2, "analytics", cloud=Cloud.GCP, region="us-central1", nlb_arn=None)
    state = WizardState(
        project=PROJECT,
        channel_id="C0PAYMENTS",
        stage=Stage.CHOOSE_CLUSTER,
        choice=choose_cluster([cluster(), gcp]),
    )
    view = check_view(wizard_view(state))
    assert view["blocks"][-1]["elements"][0]["text"] == (
        "Not offered:\n• *analytics*: Not applicable: AWS PrivateLink private endpoints are for "
        "clusters on AWS."
    )


def row(vpce_id: str | None = VPCE, name: str = "orders") -> EndpointRow:
    return EndpointRow(
        endpoint=endpoint(EndpointStatus.ACTIVE, Stage.DONE, vpce_id=vpce_id, id=2**31 - 1),
        cluster=cluster(name=name, region="ap-southeast-4"),
        created_at=NOW,
        can_edit=False,
        can_terminate=True,
    )


def test_terminate_gives_the_delete_command_everywhere() -> None:
    command = f"aws ec2 delete-vpc-endpoints --vpc-endpoint-ids {VPCE} --region ap-southeast-4"
    prompt = check_message(messages.terminate_prompt(row()))
    assert command in str(prompt) and "terraform apply" in str(prompt)
    [button] = prompt["blocks"][1]["elements"]
    assert command in button["confirm"]["text"]["text"]
    long = messages.terminate_confirmation(row(name=LONG_NAME))
    assert len(long) <= 300 and long.endswith(command)
    home = check_view(
        home_view(
            user_id="U0OWNER01",
            projects=[PROJECT],
            listings={1: Listing(rows=[row()], total=1)},
            now=NOW,
        )
    )
    assert command in str(home)
    done = check_message(
        messages.terminated_message(
            endpoint_id=7, vpce_id=VPCE, region="ap-southeast-4", cluster="orders"
        )
    )
    assert command in str(done)
    assert command not in str(messages.terminate_prompt(row(vpce_id=None)))


def test_the_channel_reply_to_terminate_gives_the_delete_command() -> None:
    snapshot = EndpointSnapshot(
        id=7,
        project_id=1,
        cluster="orders",
        region="us-west-2",
        host="orders.us-west-2.privatelink.example.com",
        port=4000,
        status=EndpointStatus.DELETING,
        stage=Stage.DONE,
        vpce_id=VPCE,
        created_by="U0OWNER01",
    )
    reply = check_message(alerts.thread_reply(text="<@U0OWNER01> terminated it", snapshot=snapshot))
    assert f"aws ec2 delete-vpc-endpoints --vpc-endpoint-ids {VPCE} --region us-west-2" in str(
        reply
    )
    assert "privatelink-orders-7" in str(reply)  # the stack, for CloudFormation users
    gone = alerts.thread_reply(
        text="The bot removed it from AWS",
        snapshot=snapshot.model_copy(update={"status": EndpointStatus.DELETED}),
    )
    assert "delete-vpc-endpoints" not in str(gone)


def test_the_thread_line_of_a_removal_says_what_aws_reported() -> None:
    change = endpoint_transition(EndpointStatus.DELETING, EndpointEvent.REMOVED)
    row = orm.PrivateEndpoint(vpce_id=VPCE)
    line = changes.describe(change, row, event_log.SYSTEM_ACTOR)
    assert line == "The bot removed it from AWS: deleting → deleted"
    seen = changes.describe(change, row, event_log.SYSTEM_ACTOR, f"{VPCE} is deleted on AWS")
    assert seen == f"{line} ({VPCE} is deleted on AWS)"
