"""The reconcile worker and endpoint services: created, polled, failed, dropped with their
cluster; over the local AWS (HTTP) and SQLite/Postgres."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from bot.services import clusters
from bot.storage import orm
from bot.storage.db import transaction
from sandbox.aws import call_count, configure, inject_fault
from tests.aws_fixtures import aws_url, local_aws_server  # noqa: F401 (fixtures)
from tests.worker.test_reconcile_world import (
    Crash,
    World,
    crash_at,
    later,
    set_service_state,
    world_fixture,  # noqa: F401 (fixture)
)

CREATE = "CreateVpcEndpointServiceConfiguration"


def test_a_new_service_is_created_then_becomes_active(world: World) -> None:
    configure(service_delay=0.6)
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)

    first = world.run()
    service = world.service(cluster)
    assert (service.status, first.services_created) == ("creating", 1)
    assert service.aws_service_id and service.service_name and service.az_ids
    assert service.service_name.endswith(service.aws_service_id)
    assert service.private_dns_name == "orders.us-west-2.privatelink.example.com"

    world.calls.clear()
    world.run()
    assert world.service(cluster).status == "creating"
    assert world.calls == {"DescribeVpcEndpointServiceConfigurations": 1}

    time.sleep(0.7)
    world.run()
    assert world.service(cluster).status == "active"
    assert world.events("endpoint_service", service.id)[-1] == ("aws_available", "active")
    assert call_count(action=CREATE) == 1
    row = world.row(endpoint)
    assert row is not None and row.status == "not_configured"


def test_a_failed_service_fails_the_endpoints_waiting_for_it(world: World) -> None:
    configure(service_delay=5)
    cluster = world.cluster()
    waiting, started = world.endpoint(cluster), world.endpoint(cluster)
    world.run()
    world.interface(started)
    service = world.service(cluster)
    assert service.aws_service_id is not None
    set_service_state(service.aws_service_id, "Failed")

    world.run()
    service = world.service(cluster)
    assert service.status == "failed"
    assert service.failure_reason and "Failed" in service.failure_reason
    for endpoint_id in (waiting, started):
        row = world.row(endpoint_id)
        assert row is not None
        assert (row.status, row.stage) == ("failed", "interface_endpoint")
        assert (
            row.failure_reason and "Submit the Interface Endpoint step again" in row.failure_reason
        )
    failed = service.aws_service_id
    assert failed is not None
    assert world.gateway("us-west-2").list_services(service_ids=[failed]) == []  # deleted

    configure(service_delay=0)
    world.interface(started)  # Retry: the service is queued again
    world.run()
    service = world.service(cluster)
    assert service.status == "active" and service.aws_service_id not in (None, failed)
    assert world.allowed(service.aws_service_id or "") == ["arn:aws:iam::111122223333:root"]
    row = world.row(started)
    assert row is not None and (row.status, row.stage) == (
        "initiating",
        "accept_endpoint_connection",
    )


def test_a_definitive_aws_error_fails_the_service_and_a_retryable_one_waits(
    world: World,
) -> None:
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    inject_fault(action=CREATE, code="ServiceUnavailable", message="Try later.", status=503)

    report = world.run()
    assert (report.retryable, world.service(cluster).status) == (1, "creating")

    inject_fault(action=CREATE, code="InvalidParameter", message="Bad NLB.", status=400)
    report = world.run()
    service = world.service(cluster)
    assert (report.aws_errors, service.status) == (1, "failed")
    assert service.failure_reason == "AWS refused the request (InvalidParameter): Bad NLB."
    row = world.row(endpoint)
    assert row is not None and row.status == "failed"


def test_a_crash_after_creating_the_service_does_not_create_a_second(world: World) -> None:
    cluster = world.cluster()
    world.endpoint(cluster)
    with pytest.raises(Crash):
        world.run(checkpoint=crash_at("created"))
    assert world.service(cluster).aws_service_id is None

    world.run(worker="worker-2", now=later(600))
    service = world.service(cluster)
    assert service.status == "active" and service.aws_service_id
    assert call_count(action=CREATE) == 1
    assert len(world.gateway("us-west-2").list_services()) == 1


def test_a_dropped_cluster_goes_from_aws_and_the_database(world: World) -> None:
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    service_id = world.ready(cluster)
    world.interface(endpoint)
    world.run()
    vpce = world.create_vpce(cluster)
    world.vpce(endpoint, vpce)
    world.run()
    assert world.connection_state(vpce) == "available"
    with transaction(world.sessions) as session:
        clusters.drop(session=session, name="orders")

    report = world.run()
    assert report.services_deleted == 1
    assert world.gateway("us-west-2").list_services() == []
    assert world.endpoint_state(vpce) == "rejected"
    with world.sessions() as session:
        assert session.scalars(select(orm.Cluster)).all() == []
        assert session.scalars(select(orm.EndpointService)).all() == []
        assert session.scalars(select(orm.PrivateEndpoint)).all() == []
    assert world.events("private_endpoint", endpoint)[-1] == ("removed", "deleted")
    assert world.events("endpoint_service", world_service_id(world, service_id))[-1] == (
        "removed",
        "deleted",
    )
    assert world.events("cluster", cluster)[-1] == ("cluster_removed", None)


def world_service_id(world: World, aws_service_id: str) -> int:
    """The database id the service had, from its audit events."""
    with world.sessions() as session:
        query = select(orm.Event.subject_id).where(
            orm.Event.subject == "endpoint_service", orm.Event.action == "aws_available"
        )
        return session.scalars(query).one()
