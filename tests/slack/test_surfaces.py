"""Edit, terminate, list, connect, billing and the Home tab, over signed HTTP."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from bot.domain.states import EndpointStatus, Stage
from bot.domain.transitions import EndpointEvent
from bot.services import changes
from bot.storage import orm
from sandbox.slack_client import app_home_opened_payload, block_actions_payload, element_action
from tests.slack.conftest import MEMBER, OWNER, World
from tests.slack.test_wizard import (
    ACCOUNT,
    SUBNETS,
    VPC,
    VPCE,
    connection_accepted,
    endpoint_rows,
    inputs,
    service_becomes_active,
    texts,
    to_interface_stage,
)


def endpoint_at(world: World, stage: str) -> int:
    """An endpoint walked through the wizard up to `stage`; its id."""
    owner = world.person()
    to_interface_stage(owner)
    service_becomes_active(world)
    if stage != "interface":
        owner.submit({"account_id": ACCOUNT, "vpc": VPC, "subnets": SUBNETS})
    if stage in ("verifying", "dns", "active", "failed"):
        owner.submit({"vpce": VPCE})
    if stage in ("dns", "active"):
        connection_accepted(world)
    with world.sessions.begin() as session:
        endpoint = session.scalars(select(orm.PrivateEndpoint)).one()
        if stage == "active":
            endpoint.stage = Stage.DONE
            changes.apply(
                session=session,
                endpoint=endpoint,
                event=EndpointEvent.CONNECTION_AVAILABLE,
                actor="system",
            )
        if stage == "failed":
            endpoint.failure_reason = "vpce-0f1e2d3c4b5a69788 belongs to another service"
            changes.apply(
                session=session, endpoint=endpoint, event=EndpointEvent.STEP_FAILED, actor="system"
            )
        return endpoint.id


@pytest.mark.parametrize(
    ("stage", "expected_inputs", "marker"),
    [
        (
            "interface",
            ["AWS account ID", "VPC ID", "Subnet IDs", "Security group IDs"],
            "Interface Endpoint",
        ),
        ("accept", ["VPC endpoint ID"], "Accept Endpoint Connection"),
        ("dns", [], "modify-vpc-endpoint"),
        ("failed", ["VPC endpoint ID"], "belongs to another service"),
    ],
)
def test_edit_resumes_at_the_endpoints_stage(
    world: World, stage: str, expected_inputs: list[str], marker: str
) -> None:
    endpoint_id = endpoint_at(world, stage)
    view = world.person().open_wizard(f"edit {endpoint_id}")
    assert inputs(view) == expected_inputs
    assert marker in texts(view)
    assert "Cluster" not in inputs(view) and "Region" not in inputs(view)  # never changed


@pytest.mark.parametrize(
    ("stage", "reason"),
    [
        ("verifying", "being verified"),
        ("active", "Active private endpoints cannot be edited"),
    ],
)
def test_edit_is_refused_when_the_rules_say_so(world: World, stage: str, reason: str) -> None:
    endpoint_id = endpoint_at(world, stage)
    assert reason in world.person().command(f"edit {endpoint_id}").text
    assert reason in world.person().command(f"edit #{endpoint_id}").text


def test_retry_button_reopens_the_failed_stage(world: World) -> None:
    endpoint_id = endpoint_at(world, "failed")
    owner = world.person()
    message = {
        "ts": "1700000000.000100",
        "text": "failed",
        "blocks": [
            {
                "type": "actions",
                "block_id": "failed_actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "retry",
                        "text": {"type": "plain_text", "text": "Retry"},
                        "value": f'{{"endpoint_id":{endpoint_id}}}',
                    }
                ],
            }
        ],
    }
    opened = len(world.slack.standin.calls("views.open"))
    assert owner.click_in_message(message, "retry").status == 200
    call = world.slack.standin.wait_for("views.open", count=opened + 1)[-1]
    assert inputs(call.args["view"]) == ["VPC endpoint ID"]


def test_terminate_from_the_command_asks_first(world: World) -> None:
    endpoint_id = endpoint_at(world, "active")
    owner = world.person()
    prompt = owner.command(f"terminate {endpoint_id}").json()
    assert "Terminate private endpoint *#" in str(prompt)
    assert [r.status for r in endpoint_rows(world)] == [EndpointStatus.ACTIVE]  # asked only
    button = prompt["blocks"][1]["elements"][0]
    assert button["confirm"]["confirm"]["text"] == "Terminate"
    message = {"ts": "1700000000.000200", "text": prompt["text"], "blocks": prompt["blocks"]}
    owner.click_in_message(message, "terminate_confirmed")
    [reply] = world.slack.standin.wait_for("response_url")
    assert "is being deleted" in str(reply.args)
    assert [r.status for r in endpoint_rows(world)] == [EndpointStatus.DELETING]
    owner.click_in_message(message, "terminate_confirmed")  # a double click changes nothing
    world.slack.standin.wait_for("response_url", count=2)
    with world.sessions() as session:
        terminations = session.scalars(
            select(orm.Event).where(orm.Event.action == EndpointEvent.TERMINATE)
        ).all()
    assert len(terminations) == 1


def test_members_cannot_terminate_by_button(world: World) -> None:
    endpoint_id = endpoint_at(world, "active")
    member = world.person(MEMBER)
    message = {
        "ts": "1700000000.000300",
        "text": "t",
        "blocks": [
            {
                "type": "actions",
                "block_id": "terminate_confirm",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "terminate_confirmed",
                        "text": {"type": "plain_text", "text": "Terminate"},
                        "value": f'{{"endpoint_id":{endpoint_id}}}',
                    }
                ],
            }
        ],
    }
    member.click_in_message(message, "terminate_confirmed")
    [reply] = world.slack.standin.wait_for("response_url")
    assert "Only owners" in str(reply.args)
    assert [r.status for r in endpoint_rows(world)] == [EndpointStatus.ACTIVE]


def test_list_connect_billing_with_an_active_endpoint(world: World) -> None:
    endpoint_id = endpoint_at(world, "active")
    member = world.person(MEMBER)
    listing = str(member.command("list").json())
    assert f"*#{endpoint_id}* orders · us-west-2 · `{VPCE}` · *active*" in listing
    connect = member.command("connect orders").json()
    assert "mysql --connect-timeout 15 -h orders.us-west-2.privatelink.example.com -P 4000" in str(
        connect
    )
    select_menu = connect["blocks"][0]["accessory"]
    jdbc = next(o["value"] for o in select_menu["options"] if o["text"]["text"] == "JDBC")
    message = {"ts": "1700000000.000400", "text": connect["text"], "blocks": connect["blocks"]}
    member.click_in_message(message, "connect_client", value=jdbc)
    [reply] = world.slack.standin.wait_for("response_url")
    assert "jdbc:mysql://orders.us-west-2.privatelink.example.com:4000/test" in str(reply.args)
    assert "ledger has no active private endpoint" in member.command("connect ledger").text
    assert "USD 14.60 per month" in member.command("billing").text  # 1 endpoint x 2 AZs


def test_home_tab_shows_projects_and_allowed_buttons(world: World) -> None:
    active_id = endpoint_at(world, "active")
    owner = world.person()
    owner.command("list")  # the owner has used the bot in the channel
    world.person(MEMBER).command("list")
    response = world.client.send_event(app_home_opened_payload(user_id=OWNER))
    assert response.status == 200
    [call] = world.slack.standin.wait_for("views.publish")
    home = call.args["view"]
    assert "Private Endpoint" in str(home["blocks"][0]) and "payments" in str(home)
    [buttons] = [b for b in home["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in buttons["elements"]] == ["terminate"]  # active: no Edit
    world.client.send_event(app_home_opened_payload(user_id=MEMBER))
    calls = world.slack.standin.wait_for("views.publish", count=2)
    assert "actions" not in {b["type"] for b in calls[1].args["view"]["blocks"]}
    action = element_action(home["blocks"], "terminate")
    world.client.send_interaction(block_actions_payload(action, user_id=OWNER, view=home))
    world.slack.standin.wait_for("views.publish", count=3)
    with world.sessions() as session:
        endpoint = session.get(orm.PrivateEndpoint, active_id)
        assert endpoint is not None and endpoint.status is EndpointStatus.DELETING


def test_the_ack_never_waits_for_slack(world: World) -> None:
    world.slack.standin.slow_down("views.open", seconds=2.0)
    owner = world.person()
    started = time.monotonic()
    response = owner.command("create orders")
    took = time.monotonic() - started
    assert response.status == 200 and took < 1.0, took
    world.slack.standin.wait_for("views.open", timeout=5)
