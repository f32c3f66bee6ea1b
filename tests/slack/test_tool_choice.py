"""The wizard's tool choice and security group field through signed requests, and Terminate's
reply, with the stand-in as Slack."""

from __future__ import annotations

import time

import pytest

from bot.domain.states import EndpointStatus
from bot.slack.ids import ActionId, CallbackId
from sandbox.slack.payloads import block_actions_payload
from tests.slack.conftest import CHANNEL, OWNER, World
from tests.slack.test_surfaces import endpoint_at
from tests.slack.test_wizard import (
    ACCOUNT,
    SUBNETS,
    VPC,
    account_allowed,
    endpoint_rows,
    service_becomes_active,
    texts,
    to_interface_stage,
)

GROUP = "sg-0a1b2c3d4e5f67890"


def test_the_chosen_tool_stays_through_toggles_and_the_next_stage(world: World) -> None:
    owner = world.person()
    to_interface_stage(owner)
    service_becomes_active(world)
    [endpoint] = endpoint_rows(world)
    owner.open_wizard(f"edit {endpoint.id}")
    owner.click_in_view("toggle_instructions")
    world.slack.standin.wait_for("views.update")
    assert "*With the AWS CLI*: one block" in texts(owner.view())

    owner.click_in_view("show_terraform")
    world.slack.standin.wait_for("views.update", count=2)
    shown = texts(owner.view())
    assert 'resource "aws_vpc_endpoint" "privatelink_orders"' in shown
    assert "*With the AWS CLI*: one block" not in shown

    owner.click_in_view("toggle_instructions")  # hide, then show: still Terraform
    world.slack.standin.wait_for("views.update", count=3)
    assert "aws_vpc_endpoint" not in texts(owner.view())
    owner.click_in_view("toggle_instructions")
    world.slack.standin.wait_for("views.update", count=4)
    assert 'resource "aws_vpc_endpoint"' in texts(owner.view())

    account_allowed(world)  # already allowed: the Accept stage shows the endpoint at once
    owner.submit({"account_id": ACCOUNT, "vpc": VPC, "subnets": SUBNETS})
    shown = texts(owner.view())
    assert "Step 4 of 5" in shown and f'vpc_id             = "{VPC}"' in shown  # still Terraform
    owner.click_in_view("show_cloudformation")  # the Accept stage has the choice too
    world.slack.standin.wait_for("views.update", count=5)
    shown = texts(owner.view())
    assert 'Type: "AWS::EC2::VPCEndpoint"' in shown and f'VpcId: "{VPC}"' in shown


def test_security_groups_are_checked_next_to_the_field_and_kept(world: World) -> None:
    owner = world.person()
    to_interface_stage(owner)
    answers = {"account_id": ACCOUNT, "vpc": VPC, "subnets": SUBNETS}
    response = owner.submit({**answers, "security_groups": "sg-12;reboot"}).json()
    assert response["response_action"] == "errors"
    assert list(response["errors"]) == ["security_groups"]
    assert "is not a security group ID" in response["errors"]["security_groups"]
    [endpoint] = endpoint_rows(world)
    assert endpoint.status is EndpointStatus.NOT_CONFIGURED and endpoint.security_group_ids == []

    owner.submit({**answers, "security_groups": f" {GROUP}, {GROUP} "})
    [endpoint] = endpoint_rows(world)
    assert endpoint.security_group_ids == [GROUP]
    service_becomes_active(world)
    account_allowed(world)
    view = owner.open_wizard(f"edit {endpoint.id}")
    assert f"SG={GROUP}" in texts(view)  # the block makes no group of its own


def test_terminate_tells_how_to_delete_the_users_endpoint(world: World) -> None:
    owner = world.person()
    to_interface_stage(owner)
    owner.submit({"account_id": ACCOUNT, "vpc": VPC, "subnets": SUBNETS})
    owner.submit({"vpce": "vpce-0f1e2d3c4b5a69788"})
    [endpoint] = endpoint_rows(world)
    command = (
        "aws ec2 delete-vpc-endpoints --vpc-endpoint-ids vpce-0f1e2d3c4b5a69788 --region us-west-2"
    )
    prompt = owner.command(f"terminate {endpoint.id}").json()
    assert command in str(prompt)
    message = {"ts": "1700000000.000300", "text": prompt["text"], "blocks": prompt["blocks"]}
    owner.click_in_message(message, "terminate_confirmed")
    [reply] = world.slack.standin.wait_for("response_url")
    assert "is being deleted" in str(reply.args) and command in str(reply.args)


@pytest.mark.parametrize(
    ("user", "team", "value"),
    [
        ("U0STRANGER", "T0001", '{"tool":"terraform"}'),  # not an owner
        (OWNER, "T0FOREIGN", '{"tool":"terraform"}'),  # another workspace
        (OWNER, "T0001", '{"tool":"pulumi"}'),  # no such tool
        (OWNER, "T0001", "terraform"),  # not the typed value
    ],
)
def test_a_forged_tool_button_updates_no_modal(
    world: World, user: str, team: str, value: str
) -> None:
    endpoint_id = endpoint_at(world, "accept")
    updates = len(world.slack.standin.calls("views.update"))
    metadata = (
        f'{{"project_id":1,"stage":"accept_endpoint_connection","channel_id":"{CHANNEL}",'
        f'"endpoint_id":{endpoint_id}}}'
    )
    action = {"type": "button", "action_id": ActionId.SHOW_TERRAFORM, "block_id": "tools"}
    view = {"id": "V0FORGED01", "type": "modal", "callback_id": CallbackId.WIZARD, "blocks": []}
    forged = block_actions_payload(
        action | {"value": value},
        user_id=user,
        team_id=team,
        view=view | {"private_metadata": metadata},
    )
    assert world.client.send_interaction(forged).status == 200
    time.sleep(0.5)  # the lazy half runs after the ack
    assert len(world.slack.standin.calls("views.update")) == updates
    genuine = block_actions_payload(
        action | {"value": '{"tool":"terraform"}'},
        user_id=OWNER,
        view=view | {"private_metadata": metadata},
    )
    assert world.client.send_interaction(genuine).status == 200  # the same click, by the owner
    world.slack.standin.wait_for("views.update", count=updates + 1)
