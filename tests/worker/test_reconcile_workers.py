"""Several reconcile workers on one database, crashed workers' leases, the loop, and the cost
of a pass: AWS calls are pages plus mutations, SQL statements do not grow with endpoints."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from bot.aws.privatelink import PrivateLinkGateway
from bot.services import projects
from bot.storage import orm
from bot.storage import service_queries as reconcile_claims
from bot.storage.db import transaction
from bot.storage.types import utcnow
from bot.worker.reconciler import PassReport, ReconcilePolicy, run_forever
from sandbox.aws import call_count, reset, seed_connections
from tests.aws_fixtures import CONSUMER_ACCOUNT, REGION, aws_url, local_aws_server  # noqa: F401 (fixtures)
from tests.conftest import truncate_all
from tests.worker.test_reconcile_world import (
    CHANNEL,
    FAST,
    OWNER,
    World,
    world_fixture,  # noqa: F401 (fixture)
)

MUTATIONS = (
    "CreateVpcEndpointServiceConfiguration",
    "ModifyVpcEndpointServicePermissions",
    "AcceptVpcEndpointConnections",
)


def in_parallel(
    world: World, *, workers: int, passes: int, policy: ReconcilePolicy
) -> dict[str, int]:
    """`workers` threads, each running `passes` passes as its own worker, started together;
    how many services each claimed."""
    world.gateway(REGION)
    barrier = threading.Barrier(workers)
    failures: list[BaseException] = []
    claimed: dict[str, int] = {}

    def work(name: str) -> None:
        barrier.wait()
        try:
            claimed[name] = sum(
                world.run(worker=name, policy=policy).claimed for _ in range(passes)
            )
        except BaseException as error:  # reported to the test below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    return claimed


def test_two_workers_make_each_aws_mutation_once(world: World) -> None:
    clusters = [world.cluster(f"c{i}") for i in range(4)]
    endpoints = [world.endpoint(c) for c in clusters]
    policy = ReconcilePolicy(batch=2, not_found_grace=0)

    claimed = in_parallel(world, workers=2, passes=2, policy=policy)
    assert claimed["w0"] > 0 and claimed["w1"] > 0
    assert all(world.service(c).status == "active" for c in clusters)
    for endpoint in endpoints:
        world.interface(endpoint)
    in_parallel(world, workers=2, passes=2, policy=policy)
    for cluster, endpoint in zip(clusters, endpoints, strict=True):
        world.vpce(endpoint, world.create_vpce(cluster))
    in_parallel(world, workers=2, passes=2, policy=policy)

    assert [call_count(action=a) for a in MUTATIONS] == [4, 4, 4]
    for endpoint in endpoints:
        row = world.row(endpoint)
        assert row is not None and (row.status, row.stage) == ("pending", "enable_private_dns")
    with world.sessions() as session:
        holders = session.scalars(select(orm.EndpointService.claimed_by)).all()
    assert list(holders) == [None] * 4


def test_a_crashed_workers_claim_is_taken_over_when_its_lease_ends(world: World) -> None:
    cluster = world.cluster()
    world.endpoint(cluster)
    now = utcnow()
    claimed = reconcile_claims.claim(
        sessions=world.sessions, worker_id="crashed", now=now, lease=300, batch=10
    )
    assert len(claimed) == 1

    assert world.run(worker="w2", now=now + timedelta(seconds=10)).claimed == 0
    assert world.service(cluster).aws_service_id is None
    report = world.run(worker="w2", now=now + timedelta(seconds=301))
    assert (report.claimed, world.service(cluster).status) == (1, "active")


def test_a_worker_that_lost_its_claim_saves_nothing(world: World) -> None:
    cluster = world.cluster()
    world.endpoint(cluster)

    def taken_over(step: str, service_id: int) -> None:
        with transaction(world.sessions) as session:
            service = session.get(orm.EndpointService, service_id)
            assert service is not None
            service.claimed_by, service.claimed_until = "w2", utcnow()  # w2 took it over

    report = world.run(checkpoint=taken_over)
    assert (report.lost, report.saved) == (1, 0)
    assert world.service(cluster).aws_service_id is None
    report = world.run(worker="w2")  # w2 finds the service its predecessor created
    # two saves: the service found active, then the first reading of its targets' health
    assert (report.saved, world.service(cluster).status) == (2, "active")
    assert call_count(action="CreateVpcEndpointServiceConfiguration") == 1


def test_the_loop_survives_a_failing_pass(world: World, caplog: pytest.LogCaptureFixture) -> None:
    cluster = world.cluster()
    world.endpoint(cluster)
    asked: list[str] = []

    def gateways(region: str) -> PrivateLinkGateway:
        asked.append(region)
        if len(asked) == 1:
            raise RuntimeError("the first pass breaks")
        return world.gateway(region)

    stop = threading.Event()
    caplog.set_level(logging.INFO, logger="bot.worker")
    loop = threading.Thread(
        target=run_forever,
        kwargs={
            "stop": stop,
            "interval": 0.05,
            "sessions": world.sessions,
            "gateways": gateways,
            "slack": None,
            "worker_id": "looper",
            "policy": FAST,
        },
    )
    loop.start()
    try:
        for _ in range(100):
            if world.service(cluster).status == "active":
                break
            stop.wait(0.05)
    finally:
        stop.set()
        loop.join(timeout=10)
    assert world.service(cluster).status == "active"
    failed = [r for r in caplog.records if r.getMessage().startswith("reconcile_pass_failed")]
    assert failed and failed[0].exc_info is not None
    assert "RuntimeError: the first pass breaks" in caplog.text
    moved: Any = next(r for r in caplog.records if r.getMessage().startswith("transition"))
    assert (moved.subject, moved.event, moved.to_status) == (
        "endpoint_service",
        "aws_available",
        "active",
    )


@contextmanager
def counting_sql(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def measure(world: World, engine: Engine, n: int) -> dict[str, tuple[int, int, int]]:
    """(AWS calls, SQL statements, SQL reads other than the outbox's dedupe check) of the
    accepting pass, a pass with nothing to do, and the pass activating `n` endpoints."""
    reset()
    truncate_all(engine)
    with transaction(world.sessions) as session:
        projects.add(session=session, name="payments", channel_id=CHANNEL, owners=[OWNER])
    world.calls.clear()
    cluster = world.cluster()
    endpoints = [world.endpoint(cluster) for _ in range(n)]
    service_id = world.ready(cluster)
    for endpoint in endpoints:
        world.interface(endpoint)
    world.run()
    vpces = seed_connections(
        region=REGION, service_id=service_id, count=n, consumer_account_id=CONSUMER_ACCOUNT
    )
    for endpoint, vpce in zip(endpoints, vpces, strict=True):
        world.vpce(endpoint, vpce)

    def cost() -> tuple[PassReport, tuple[int, int, int]]:
        world.calls.clear()
        with counting_sql(engine) as statements:
            report = world.run()
        reads = [s for s in statements if s.startswith("SELECT") and "FROM outbox" not in s]
        return report, (sum(world.calls.values()), len(statements), len(reads))

    accepting, accepted = cost()
    assert accepting.accepted == n
    idle, nothing = cost()
    assert idle.transitions == 0
    for endpoint in endpoints:
        world.create(endpoint)
    activating, activated = cost()
    assert activating.transitions == n
    return {"accept": accepted, "idle": nothing, "activate": activated}


def test_aws_calls_are_pages_plus_mutations_and_sql_does_not_grow(
    world: World, db_engine: Engine
) -> None:
    world.page_size = 20
    small, large = measure(world, db_engine, 5), measure(world, db_engine, 50)
    print(f"\nN=5: {small}\nN=50: {large}")
    for n, costs in ((5, small), (50, large)):
        # the connections' pages, plus the one page of services: the service's private DNS
        # name awaits verification, so each pass reads it (a page per region, not per service)
        pages = math.ceil(n / world.page_size) + 1
        assert costs["accept"][0] == pages + 1  # one batched accept
        assert costs["idle"][0] == pages
        assert costs["activate"][0] == pages
    assert small["idle"][1:] == large["idle"][1:]
    for kind in ("accept", "activate"):
        assert small[kind][2] == large[kind][2]  # reads do not grow with N
        per_endpoint, remainder = divmod(large[kind][1] - small[kind][1], 45)
        assert remainder == 0 and per_endpoint <= 4  # a transition: its update, event, outbox
