"""Live modal updates: the wizard open in Slack (the local stand-in) follows what the worker
learns, in place; a modal the user closed is forgotten quietly."""

from __future__ import annotations

import json
import time

from slack_sdk import WebClient
from sqlalchemy import select

from bot.services import wizard
from bot.slack.views.wizard import wizard_view
from bot.storage import orm
from bot.storage.db import transaction
from sandbox.aws import configure
from sandbox.slack_api import RunningStandIn
from tests.aws_fixtures import aws_url, local_aws_server  # noqa: F401 (fixtures)
from tests.worker.test_reconcile_connections import started
from tests.worker.test_reconcile_world import (
    World,
    world_fixture,  # noqa: F401 (fixture)
)


def open_wizard(world: World, running: RunningStandIn, client: WebClient, endpoint_id: int) -> str:
    """The owner opens the endpoint's wizard; the bot keeps the view id, as its listener does."""
    with world.sessions() as session:
        row = session.get(orm.PrivateEndpoint, endpoint_id)
        assert row is not None
        view = wizard_view(wizard.state_of(session=session, endpoint=row))
    answer = client.views_open(trigger_id=running.standin.new_trigger_id(), view=view)
    view_id = str(answer["view"]["id"])
    with transaction(world.sessions) as session:
        wizard.remember_view(session=session, endpoint_id=endpoint_id, view_id=view_id)
    return view_id


def shown(running: RunningStandIn, view_id: str) -> str:
    view = running.standin.view(view_id)
    assert view is not None
    return json.dumps(view["blocks"])


def test_an_open_modal_shows_the_service_once_it_is_active(
    world: World, running: RunningStandIn, client: WebClient
) -> None:
    configure(service_delay=0.5)
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    view_id = open_wizard(world, running, client, endpoint)
    assert "Creating the endpoint service" in shown(running, view_id)

    assert world.run(slack=client).modals_updated == 0
    time.sleep(0.6)
    assert world.run(slack=client).modals_updated == 1
    service = world.service(cluster)
    text = shown(running, view_id)
    assert "Creating the endpoint service" not in text
    assert service.service_name and service.service_name in text
    assert all(az in text for az in service.az_ids)
    assert running.standin.calls("views.update")[-1].args["view_id"] == view_id


def test_an_open_modal_moves_on_when_the_connection_is_accepted(
    world: World, running: RunningStandIn, client: WebClient
) -> None:
    cluster, endpoint, _ = started(world)
    vpce = world.create_vpce(cluster)
    world.vpce(endpoint, vpce)
    view_id = open_wizard(world, running, client, endpoint)
    assert "Verifying" in shown(running, view_id)

    assert world.run(slack=client).modals_updated == 1
    assert f"The connection from `{vpce}` is accepted" in shown(running, view_id)


def test_a_closed_modal_is_forgotten_without_an_error(
    world: World, running: RunningStandIn, client: WebClient
) -> None:
    configure(service_delay=0.3)
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    view_id = open_wizard(world, running, client, endpoint)
    world.run(slack=client)
    running.standin.close_view(view_id)
    time.sleep(0.4)

    report = world.run(slack=client)
    assert (report.modals_updated, report.modals_closed, report.modal_errors) == (0, 1, 0)
    assert world.service(cluster).status == "active"
    row = world.row(endpoint)
    assert row is not None and row.view_id is None


def test_an_open_modal_offers_the_request_seen_from_the_users_account(
    world: World, running: RunningStandIn, client: WebClient
) -> None:
    """Two wizards of one account wait: the request is offered, not taken."""
    cluster, endpoint, _ = started(world)
    other = world.endpoint(cluster)
    world.interface(other)
    world.run()
    view_id = open_wizard(world, running, client, endpoint)
    vpce = world.create_vpce(cluster)

    report = world.run(slack=client)
    assert (report.suggestions, report.modals_updated) == (1, 1)
    assert f"AWS shows a connection request from `{vpce}`" in shown(running, view_id)
    assert world.run(slack=client).modals_updated == 0


def test_an_open_modal_moves_on_by_itself_to_active_when_the_users_block_made_the_endpoint(
    world: World, running: RunningStandIn, client: WebClient
) -> None:
    """The only wizard of its account: the request is its endpoint, taken, accepted and Active
    pass after pass, the modal following each step without a click."""
    cluster, endpoint, _ = started(world)
    view_id = open_wizard(world, running, client, endpoint)
    vpce = world.create_vpce(cluster)

    report = world.run(slack=client)  # taken as the wizard's own
    assert (report.transitions, report.modals_updated) == (1, 1)
    row = world.row(endpoint)
    assert row is not None and (row.vpce_id, row.stage, row.status) == (vpce, "done", "initiating")
    assert "being finalized" in shown(running, view_id)
    with world.sessions() as session:  # the endpoint's thread says how it got its vpce id
        texts = [o.payload.get("text", "") for o in session.scalars(select(orm.Outbox))]
    assert any(
        t.startswith(f"The bot took {vpce}, the one connection request from account ")
        for t in texts
    )

    assert world.run(slack=client).accepted == 1
    world.run(slack=client)  # the sandbox makes an accepted endpoint available at once
    row = world.row(endpoint)
    assert row is not None and row.status == "active"
    assert "is *active*" in shown(running, view_id)
    assert [a for a, _ in world.events("private_endpoint", endpoint)][-3:] == [
        "vpce_adopted",
        "connection_accepted",
        "connection_available",
    ]
