"""What users hit off the happy path: stale modals, failures after acceptance, lost rows."""

from __future__ import annotations

import time

from sqlalchemy import delete, select

from bot.domain.states import EndpointStatus, Stage
from bot.domain.transitions import EndpointEvent
from bot.observability import SLACK_ERRORS
from bot.services import changes, clusters
from bot.storage import orm
from sandbox.slack_client import Delivery, state_values, view_submission_payload
from tests.slack.conftest import MEMBER, World
from tests.slack.test_surfaces import endpoint_at
from tests.slack.test_wizard import (
    ACCOUNT,
    SUBNETS,
    VPC,
    endpoint_rows,
    inputs,
    texts,
    to_interface_stage,
)


def test_the_new_endpoint_remembers_the_open_modal(world: World) -> None:
    owner = world.person()
    to_interface_stage(owner)
    [endpoint] = endpoint_rows(world)
    assert endpoint.view_id == owner.view_id  # so the worker can update it in place


def test_a_modal_opened_by_edit_is_remembered(world: World) -> None:
    endpoint_id = endpoint_at(world, "interface")
    owner = world.person()
    owner.open_wizard(f"edit {endpoint_id}")
    deadline = time.monotonic() + 5  # the id is stored once Slack has answered views.open
    while endpoint_rows(world)[0].view_id != owner.view_id and time.monotonic() < deadline:
        time.sleep(0.05)
    assert endpoint_rows(world)[0].view_id == owner.view_id


def test_a_failure_after_acceptance_restarts_at_the_interface_stage(world: World) -> None:
    endpoint_id = endpoint_at(world, "active")
    with world.sessions.begin() as session:
        endpoint = session.get(orm.PrivateEndpoint, endpoint_id)
        assert endpoint is not None
        endpoint.failure_reason = "The connection was rejected on AWS."
        changes.apply(
            session=session, endpoint=endpoint, event=EndpointEvent.STEP_FAILED, actor="system"
        )
    owner = world.person()
    view = owner.open_wizard(f"edit {endpoint_id}")
    assert inputs(view) == ["AWS account ID", "VPC ID", "Subnet IDs", "Security group IDs"]
    assert "connection was rejected" in texts(view)
    owner.submit({"account_id": ACCOUNT, "vpc": VPC, "subnets": SUBNETS})
    [endpoint] = endpoint_rows(world)
    assert (endpoint.status, endpoint.stage, endpoint.vpce_id) == (
        EndpointStatus.INITIATING,
        Stage.ACCEPT_ENDPOINT_CONNECTION,
        None,
    )


def test_a_modal_left_open_while_the_cluster_is_dropped(world: World) -> None:
    owner = world.person()
    to_interface_stage(owner)
    with world.sessions.begin() as session:
        clusters.drop(session=session, name="orders")
    response = owner.submit({"account_id": ACCOUNT, "vpc": VPC, "subnets": SUBNETS}).json()
    assert response["response_action"] == "update"
    assert "is being deleted" in texts(response["view"])
    assert endpoint_rows(world)[0].vpc_id is None


def test_a_stale_stage_says_the_input_was_not_applied(world: World) -> None:
    owner = world.person()
    to_interface_stage(owner)
    old_view = owner.view()
    owner.submit({"account_id": ACCOUNT, "vpc": VPC, "subnets": SUBNETS})
    payload = view_submission_payload(
        old_view,
        state_values(
            old_view, {"account_id": ACCOUNT, "vpc": "vpc-0123456789abcdef0", "subnets": SUBNETS}
        ),
        user_id=owner.user_id,
    )
    response = owner.resend(payload, delivery=Delivery()).json()
    assert "what you entered was not applied" in texts(response["view"])
    assert endpoint_rows(world)[0].vpc_id == VPC


def test_a_button_on_a_vanished_endpoint_still_acks_at_once(world: World) -> None:
    endpoint_id = endpoint_at(world, "interface")
    owner = world.person()
    owner.open_wizard(f"edit {endpoint_id}")
    view = owner.view()
    with world.sessions.begin() as session:
        session.execute(delete(orm.Outbox))
        session.execute(delete(orm.PrivateEndpoint))
    started = time.monotonic()
    response = owner.click_in_view("toggle_instructions", view=view)
    assert response.status == 200 and time.monotonic() - started < 1.0
    calls = world.slack.standin.wait_for("views.update")
    assert "does not exist" in str(calls[-1].args["view"])


def test_a_listeners_failed_slack_call_is_counted(world: World) -> None:
    """Listeners call Slack through the bot's client, not the plain one Bolt makes for each
    request: its failures show on /metrics (and its connections are kept alive)."""
    endpoint_id = endpoint_at(world, "interface")
    owner = world.person()
    owner.open_wizard(f"edit {endpoint_id}")
    counted = SLACK_ERRORS.labels(method="views.update", error="hash_conflict")
    before = counted._value.get()
    world.slack.standin.fail_next("views.update", error="hash_conflict")
    assert owner.click_in_view("toggle_instructions").status == 200
    world.slack.standin.wait_for("views.update")
    deadline = time.monotonic() + 5
    while counted._value.get() == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert counted._value.get() == before + 1


def test_a_submission_from_a_channel_that_lost_its_project(world: World) -> None:
    owner = world.person()
    owner.open_wizard("create orders")
    with world.sessions.begin() as session:
        project = session.scalars(select(orm.Project)).one()
        project.channel_id = "C0ELSEWHER"
    response = owner.submit()
    assert response.status == 200
    assert "no longer belongs to a project" in texts(response.json()["view"])


def test_refusals_keep_owner_mentions(world: World) -> None:
    reply = world.person(MEMBER).command("create").json()
    assert "<@U0OWNER01>" in reply["blocks"][0]["text"]["text"]


def test_no_button_waits_for_slack_before_its_ack(world: World) -> None:
    """Every button answers at once, even when Slack is slow to take what follows it."""
    from bot.slack.ids import ActionId

    world.slack.standin.slow_down("response_url", seconds=2.0)
    world.slack.standin.slow_down("views.open", seconds=2.0)
    world.slack.standin.slow_down("views.publish", seconds=2.0)
    owner = world.person()
    values = {
        ActionId.VERIFY_DNS: '{"service_id": 999}',
        ActionId.ACCEPT_CONNECTION: '{"request_id": 999}',
        ActionId.REJECT_CONNECTION: '{"request_id": 999}',
    }
    for action in (
        ActionId.VERIFY_DNS,
        ActionId.ACCEPT_CONNECTION,
        ActionId.REJECT_CONNECTION,
        ActionId.TERMINATE_CONFIRMED,
        ActionId.EDIT,
        ActionId.RETRY,
        ActionId.TERMINATE,
    ):
        message = {
            "ts": "1700000000.000900",
            "text": "x",
            "blocks": [
                {
                    "type": "actions",
                    "block_id": "b",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": action,
                            "text": {"type": "plain_text", "text": "go"},
                            "value": values.get(action, '{"endpoint_id": 999}'),
                        }
                    ],
                }
            ],
        }
        started = time.monotonic()
        response = owner.click_in_message(message, action)
        assert response.status == 200 and time.monotonic() - started < 1.0, action
    time.sleep(4.5)  # let the slowed work after the acks (up to two calls) end first
