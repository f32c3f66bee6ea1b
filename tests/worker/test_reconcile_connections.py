"""The reconcile worker and connections: verified and accepted, watched, rejected on terminate,
refused for the wrong endpoint or account; allowed principals kept in step with the endpoints'
accounts (unknown requests: test_reconcile_requests). Over the local AWS (HTTP) and
SQLite/Postgres."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from bot.storage import orm
from bot.worker.reconciler import ReconcilePolicy
from sandbox.aws import call_count, configure, inject_fault
from tests.aws_fixtures import CONSUMER_ACCOUNT, OTHER_ACCOUNT, REGION, aws_url, local_aws_server  # noqa: F401 (fixtures)
from tests.worker.test_reconcile_world import (
    Crash,
    World,
    crash_at,
    world_fixture,  # noqa: F401 (fixture)
)

ACCEPT = "AcceptVpcEndpointConnections"
PRINCIPAL = f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"


def started(world: World, account: str = CONSUMER_ACCOUNT) -> tuple[int, int, str]:
    """A cluster, its active service, an endpoint at the accept stage: (cluster, endpoint, svc)."""
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    service_id = world.ready(cluster)
    world.interface(endpoint, account)
    world.run()
    return cluster, endpoint, service_id


def status(world: World, endpoint_id: int) -> tuple[str, str, str | None]:
    row = world.row(endpoint_id)
    assert row is not None
    return row.status, row.stage, row.failure_reason


def test_the_whole_path_from_initiating_to_active(world: World) -> None:
    configure(connection_delay=0.5)
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    service_id = world.ready(cluster)
    world.interface(endpoint)
    assert world.allowed(service_id) == []

    assert world.run().allowed == 1
    assert world.allowed(service_id) == [PRINCIPAL]
    assert world.service(cluster).allowed_accounts == [CONSUMER_ACCOUNT]

    vpce = world.create_vpce(cluster)
    world.vpce(endpoint, vpce)  # the manual path: the id pasted before the bot took it
    report = world.run()
    assert (report.accepted, status(world, endpoint)) == (
        1,
        ("pending", "enable_private_dns", None),
    )
    row = world.row(endpoint)
    assert row is not None and row.suggested_vpce_id is None

    world.create(endpoint)
    world.run()
    assert status(world, endpoint)[:2] == ("pending", "done")
    time.sleep(0.6)
    world.run()
    assert status(world, endpoint)[:2] == ("active", "done")
    assert [a for a, _ in world.events("private_endpoint", endpoint)] == [
        "created",
        "interface_submitted",
        "vpce_submitted",
        "connection_accepted",
        "create_submitted",
        "connection_available",
    ]
    assert call_count(action=ACCEPT) == 1
    with world.sessions() as session:
        last = session.scalars(select(orm.Outbox).order_by(orm.Outbox.id.desc())).first()
    assert last is not None and last.payload["broadcast"] is True
    assert last.payload["endpoint"]["status"] == "active"
    assert world.run().transitions == 0


def test_an_unknown_vpce_id_fails_and_asks_for_it_again(world: World) -> None:
    _, endpoint, _ = started(world)
    world.vpce(endpoint, "vpce-0123456789abcdef0")
    world.run()
    state, stage, reason = status(world, endpoint)
    assert (state, stage) == ("failed", "accept_endpoint_connection")
    assert reason is not None and reason.startswith(
        "vpce-0123456789abcdef0 was not found: check the id, and that you created it with "
        "the service name shown (com.amazonaws.vpce.us-west-2.vpce-svc-"
    )


def test_a_vpce_id_is_not_failed_before_aws_could_list_it(world: World) -> None:
    _, endpoint, _ = started(world)
    world.vpce(endpoint, "vpce-0123456789abcdef0")
    world.run(policy=ReconcilePolicy(not_found_grace=60))
    assert status(world, endpoint)[0] == "initiating"


def test_a_connection_to_another_service_is_refused(world: World) -> None:
    cluster, endpoint, _ = started(world)
    other_cluster = world.cluster("ledger")
    other = world.endpoint(other_cluster)
    world.ready(other_cluster)
    world.interface(other)
    world.run()
    vpce = world.create_vpce(other_cluster)
    world.vpce(endpoint, vpce)
    world.run()
    state, stage, reason = status(world, endpoint)
    assert (state, stage) == ("failed", "accept_endpoint_connection")
    assert reason is not None and "belongs to another endpoint service" in reason
    assert world.connection_state(vpce) == "pendingAcceptance"
    assert status(world, other)[0] == "initiating"


def test_a_connection_from_another_account_is_left_pending(world: World) -> None:
    cluster, endpoint, _ = started(world)
    theirs = world.endpoint(cluster)
    world.interface(theirs, OTHER_ACCOUNT)
    world.run()
    vpce = world.create_vpce(cluster, OTHER_ACCOUNT)
    world.vpce(endpoint, vpce)
    world.run()
    state, stage, reason = status(world, endpoint)
    assert (state, stage) == ("failed", "accept_endpoint_connection")
    assert reason == (
        f"{vpce} is owned by AWS account {OTHER_ACCOUNT}, not by {CONSUMER_ACCOUNT}, the account "
        f"you gave, so the bot did not accept it. Give the id of an endpoint created in "
        f"{CONSUMER_ACCOUNT}."
    )
    assert world.connection_state(vpce) == "pendingAcceptance"
    assert call_count(action=ACCEPT) == 0
    assert call_count(action="RejectVpcEndpointConnections") == 0


def test_a_rejected_connection_cannot_be_accepted(world: World) -> None:
    cluster, endpoint, service_id = started(world)
    vpce = world.create_vpce(cluster)
    world.gateway(REGION).reject_connections(service_id=service_id, vpce_ids=[vpce])
    world.vpce(endpoint, vpce)
    world.run()
    state, stage, reason = status(world, endpoint)
    assert (state, stage) == ("failed", "accept_endpoint_connection")
    assert reason == (
        f"The connection from {vpce} is rejected on AWS, so it cannot be accepted. "
        "Create a new endpoint with the command shown and give its id."
    )


def test_a_lost_connection_fails_an_active_endpoint(world: World) -> None:
    cluster, endpoint, service_id = started(world)
    vpce = world.create_vpce(cluster)
    world.vpce(endpoint, vpce)
    world.run()
    world.create(endpoint)
    world.run()
    assert status(world, endpoint)[0] == "active"
    world.gateway(REGION).reject_connections(service_id=service_id, vpce_ids=[vpce])
    world.run()
    state, stage, reason = status(world, endpoint)
    assert (state, stage) == ("failed", "interface_endpoint")
    assert reason is not None and reason.startswith(f"The connection from {vpce} was rejected")


def test_terminate_rejects_and_removes_the_principal_with_the_last_endpoint(
    world: World,
) -> None:
    cluster, first, service_id = started(world)
    second = world.endpoint(cluster)
    world.interface(second)
    vpces = {}
    for endpoint in (first, second):
        vpces[endpoint] = world.create_vpce(cluster)
        world.vpce(endpoint, vpces[endpoint])
    assert world.run().accepted == 2

    world.terminate(first)
    report = world.run()
    assert (report.rejected, report.disallowed) == (1, 0)
    assert world.row(first) is None
    assert world.connection_state(vpces[first]) == "rejected"
    assert world.events("private_endpoint", first)[-2:] == [
        ("terminate", "deleting"),
        ("removed", "deleted"),
    ]
    assert world.allowed(service_id) == [PRINCIPAL]

    world.terminate(second)
    report = world.run()
    assert (report.rejected, report.disallowed) == (1, 1)
    assert world.row(second) is None
    assert world.allowed(service_id) == []
    assert world.service(cluster).allowed_accounts == []


def test_terminate_without_a_vpce_removes_the_row_at_once(world: World) -> None:
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    world.terminate(endpoint)
    world.run()
    assert world.row(endpoint) is None


def test_a_retryable_aws_error_leaves_the_state_for_the_next_pass(world: World) -> None:
    cluster, endpoint, _ = started(world)
    world.vpce(endpoint, world.create_vpce(cluster))
    inject_fault(action="DescribeVpcEndpointConnections")
    report = world.run()
    assert (report.retryable, report.transitions) == (1, 0)
    assert status(world, endpoint)[0] == "initiating"
    inject_fault(action=ACCEPT, code="Throttling", status=400)
    assert world.run().retryable == 1
    assert status(world, endpoint)[0] == "initiating"
    world.run()
    assert status(world, endpoint)[:2] == ("pending", "enable_private_dns")


def test_a_definitive_aws_error_fails_the_endpoint_in_plain_words(world: World) -> None:
    cluster, endpoint, _ = started(world)
    vpce = world.create_vpce(cluster)
    world.vpce(endpoint, vpce)
    inject_fault(action=ACCEPT, code="UnauthorizedOperation", message="No.", status=403)
    world.run()
    state, stage, reason = status(world, endpoint)
    assert (state, stage) == ("failed", "accept_endpoint_connection")
    assert reason is not None and reason.startswith("AWS refused the request: the credentials")
    assert world.connection_state(vpce) == "pendingAcceptance"


def test_a_crash_after_accepting_repeats_nothing(world: World) -> None:
    cluster, endpoint, _ = started(world)
    vpce = world.create_vpce(cluster)
    world.vpce(endpoint, vpce)
    with pytest.raises(Crash):
        world.run(checkpoint=crash_at("mutated"))
    assert world.connection_state(vpce) == "available"
    assert status(world, endpoint)[0] == "initiating"

    world.run(worker="worker-2")
    assert status(world, endpoint)[:2] == ("pending", "enable_private_dns")
    assert call_count(action=ACCEPT) == 1
    assert [a for a, _ in world.events("private_endpoint", endpoint)].count(
        "connection_accepted"
    ) == 1
