"""Since when an endpoint is in its status: set with every change of status, by a person or by
the worker, at the time of the event that moved it; a step within a status leaves it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from bot.services.changes import ENDPOINT_SUBJECT
from bot.storage import orm
from tests.aws_fixtures import aws_url, local_aws_server  # noqa: F401 (fixtures)
from tests.worker.test_reconcile_world import World, world_fixture  # noqa: F401 (fixture)


def since(world: World, endpoint_id: int) -> datetime:
    row = world.row(endpoint_id)
    assert row is not None
    return row.status_changed_at


def entered(world: World, endpoint_id: int) -> list[tuple[str, datetime]]:
    """(status, time) of each event that moved the endpoint into a new status, oldest first."""
    with world.sessions() as session:
        query = (
            select(orm.Event.to_status, orm.Event.from_status, orm.Event.created_at)
            .where(orm.Event.subject == ENDPOINT_SUBJECT, orm.Event.subject_id == endpoint_id)
            .order_by(orm.Event.id)
        )
        return [(to, at) for to, before, at in session.execute(query) if to and to != before]


def test_each_change_of_status_notes_its_time_and_a_step_within_one_does_not(
    world: World,
) -> None:
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    created = world.row(endpoint)
    assert created is not None
    assert entered(world, endpoint) == [("not_configured", created.status_changed_at)]

    world.ready(cluster)
    world.interface(endpoint)
    initiating = since(world, endpoint)
    assert initiating > created.status_changed_at
    assert entered(world, endpoint)[-1] == ("initiating", initiating)
    world.run()  # the worker allows the user's account: still initiating
    assert since(world, endpoint) == initiating

    world.vpce(endpoint, world.create_vpce(cluster))  # a step within initiating
    assert since(world, endpoint) == initiating

    world.run()  # the worker accepts the connection: pending
    pending = since(world, endpoint)
    assert pending > initiating
    assert entered(world, endpoint)[-1] == ("pending", pending)

    world.create(endpoint)  # Create at Enable Private DNS: still pending
    assert since(world, endpoint) == pending
    world.terminate(endpoint)
    row = world.row(endpoint)
    assert row is not None and row.status == "deleting"
    assert entered(world, endpoint)[-1] == ("deleting", row.status_changed_at)
