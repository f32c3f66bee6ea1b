"""The stuck-endpoint reminder, with the pass's clock moved forward: one reply per endpoint and
status once it has waited on its creator past BOT_STUCK_AFTER, never before, never for a status
that does not wait on them, never about a status it has left, never twice (passes, replicas,
crashes); and cheap: no save and no query per endpoint once told. Over the local AWS (HTTP),
the Slack stand-in and SQLite/Postgres."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, event, select

from bot.domain.transitions import EndpointEvent
from bot.notices.endpoint_alerts import ENDPOINT_ALERT
from bot.services import changes
from bot.storage import orm
from bot.storage.db import transaction
from bot.worker.reconciler import ReconcilePolicy
from sandbox.slack_api import RunningStandIn
from tests.aws_fixtures import REGION, aws_url, local_aws_server  # noqa: F401 (fixtures)
from tests.worker.test_outbox import drain
from tests.worker.test_reconcile_world import (
    CHANNEL,
    OWNER,
    Crash,
    World,
    crash_at,
    world_fixture,  # noqa: F401 (fixture)
)

STUCK = 86400.0  # BOT_STUCK_AFTER's default
POLICY = ReconcilePolicy(not_found_grace=0.0, stuck_after=STUCK)


def since(world: World, endpoint_id: int) -> datetime:
    row = world.row(endpoint_id)
    assert row is not None
    return row.status_changed_at


def past(world: World, endpoint_id: int, seconds: float = 1.0) -> datetime:
    """`seconds` after the endpoint's wait in its status passed BOT_STUCK_AFTER."""
    return since(world, endpoint_id) + timedelta(seconds=STUCK + seconds)


def reminders(world: World) -> list[tuple[int | None, str, str]]:
    """(endpoint, status told of, dedupe key) of each alert queued, oldest first."""
    with world.sessions() as session:
        query = select(orm.Outbox).where(orm.Outbox.kind == ENDPOINT_ALERT).order_by(orm.Outbox.id)
        return [
            (r.private_endpoint_id, r.payload["endpoint"]["status"], r.dedupe_key)
            for r in session.scalars(query)
        ]


def initiating(world: World, name: str = "orders") -> tuple[int, int]:
    """A cluster with its active service and an endpoint waiting for its VPC endpoint."""
    cluster = world.cluster(name)
    endpoint = world.endpoint(cluster)
    world.ready(cluster)
    world.interface(endpoint)
    world.run()  # the user's account is allowed
    return cluster, endpoint


def run(world: World, now: datetime, **kwargs: Any) -> Any:
    return world.run(now=now, policy=POLICY, **kwargs)


def test_one_reminder_past_the_threshold_posted_in_the_endpoints_thread(
    world: World, running: RunningStandIn, client: WebClient
) -> None:
    _, endpoint = initiating(world)
    assert run(world, past(world, endpoint, -1)).alerts == 0  # a second before: nothing
    assert reminders(world) == []

    report = run(world, past(world, endpoint))
    assert (report.alerts, report.stale) == (1, 0)
    key = f"endpoint:{endpoint}:alert:stuck:initiating"
    assert reminders(world) == [(endpoint, "initiating", key)]
    for later in (1, 3600, 30 * 86400):  # passes after, however late: told once
        again = run(world, past(world, endpoint, later))
        assert (again.alerts, again.saved) == (0, 0)
    assert len(reminders(world)) == 1

    drain(world.sessions, client)
    ts = _parent_ts(world, endpoint)
    reminder = running.standin.replies(CHANNEL, ts)[-1]
    assert reminder["text"].startswith(f"<@{OWNER}>, private endpoint #{endpoint} to orders")
    assert "has been initiating for 1 day" in reminder["text"]
    shown = str(reminder["blocks"])
    assert f"/private-endpoint edit {endpoint}" in shown
    assert f"/private-endpoint terminate {endpoint}" in shown
    assert "command the wizard shows" in shown
    assert reminder.get("subtype") != "thread_broadcast"  # in the thread only
    parent = running.standin.message(CHANNEL, ts)
    assert parent is not None and "Initiating" in str(parent["blocks"])  # as it is now


def _parent_ts(world: World, endpoint_id: int) -> str:
    row = world.row(endpoint_id)
    assert row is not None and row.alert_ts is not None
    return row.alert_ts


def test_a_new_reminder_when_stuck_again_in_the_next_status(
    world: World, running: RunningStandIn, client: WebClient
) -> None:
    cluster, endpoint = initiating(world)
    assert run(world, past(world, endpoint)).alerts == 1
    world.vpce(endpoint, world.create_vpce(cluster))
    moved = run(world, past(world, endpoint))  # accepted: pending from now on
    assert (moved.accepted, moved.alerts) == (1, 0)
    row = world.row(endpoint)
    assert row is not None and row.status == "pending"

    assert run(world, past(world, endpoint, -1)).alerts == 0
    assert run(world, past(world, endpoint)).alerts == 1
    assert run(world, past(world, endpoint, 86400)).alerts == 0
    assert [(e, s) for e, s, _ in reminders(world)] == [
        (endpoint, "initiating"),
        (endpoint, "pending"),
    ]
    drain(world.sessions, client)
    pending = running.standin.replies(CHANNEL, _parent_ts(world, endpoint))[-1]
    assert "has been pending for 1 day" in pending["text"]
    assert "--private-dns-enabled" in str(pending["blocks"])
    assert "press *Create* in the wizard" in str(pending["blocks"])


def test_none_for_statuses_that_do_not_wait_on_the_creator(world: World) -> None:
    new = world.endpoint(world.cluster("fresh"))  # not configured: no VPC given yet
    cluster, active = initiating(world, "orders")
    world.vpce(active, world.create_vpce(cluster))
    world.run()
    world.create(active)
    world.run()
    _, failed = initiating(world, "billing")
    world.vpce(failed, "vpce-0123456789abcdef0")  # no such endpoint: the worker fails it
    world.run(policy=POLICY)
    _, waiting = initiating(world, "control")  # reminded in the same pass
    _, deleting = initiating(world, "ledger")
    with transaction(world.sessions) as session:  # its cluster is being dropped
        row = session.get(orm.PrivateEndpoint, deleting)
        assert row is not None
        changes.apply(
            session=session, endpoint=row, event=EndpointEvent.CLUSTER_DROPPED, actor=OWNER
        )
    others = {new: "not_configured", active: "active", failed: "failed", deleting: "deleting"}
    assert {e: status(world, e) for e in others} == others

    later = max(since(world, e) for e in [*others, waiting])
    report = run(world, later + timedelta(seconds=30 * 86400))
    assert report.alerts == 1
    assert [(e, s) for e, s, _ in reminders(world)] == [(waiting, "initiating")]


def status(world: World, endpoint_id: int) -> str:
    row = world.row(endpoint_id)
    assert row is not None
    return row.status


def test_none_once_the_endpoint_moved_on_before_the_save(world: World) -> None:
    """The owner terminated the endpoint between the pass's read and its save."""
    _, endpoint = initiating(world)
    report = run(
        world, past(world, endpoint), checkpoint=lambda step, service: world.terminate(endpoint)
    )
    assert (report.stale, report.alerts) == (1, 0)
    assert run(world, past(world, endpoint, 86400)).alerts == 0
    assert reminders(world) == []


def test_none_about_a_status_the_endpoint_left_before_the_save(world: World) -> None:
    """Between the pass's read and its save, the endpoint failed and was retried: it is in the
    same status again, but not since the time the pass saw, so nothing is told."""
    _, endpoint = initiating(world)

    def failed_and_retried(step: str, service_id: int) -> None:
        with transaction(world.sessions) as session:
            row = session.get(orm.PrivateEndpoint, endpoint)
            assert row is not None
            for event in (EndpointEvent.STEP_FAILED, EndpointEvent.INTERFACE_SUBMITTED):
                changes.apply(session=session, endpoint=row, event=event, actor=OWNER)

    seen = since(world, endpoint)
    report = run(world, past(world, endpoint), checkpoint=failed_and_retried)
    assert (report.saved, report.stale, report.alerts) == (1, 1, 0)
    assert reminders(world) == []
    retried = since(world, endpoint)
    assert retried > seen
    assert run(world, past(world, endpoint, -1)).alerts == 0  # waiting anew, not long enough
    assert run(world, past(world, endpoint)).alerts == 1
    with world.sessions() as session:
        told = session.scalars(select(orm.Outbox).where(orm.Outbox.kind == ENDPOINT_ALERT)).one()
        assert datetime.fromisoformat(told.payload["since"]) == retried


def test_none_when_the_pass_itself_moves_the_endpoint_on(world: World) -> None:
    cluster, endpoint = initiating(world)
    world.vpce(endpoint, world.create_vpce(cluster))
    report = run(world, past(world, endpoint))
    assert (report.accepted, report.alerts, report.stale) == (1, 0, 0)
    assert reminders(world) == []


def test_a_crash_before_the_save_tells_it_once_later(world: World) -> None:
    _, endpoint = initiating(world)
    when = past(world, endpoint)
    with pytest.raises(Crash):
        run(world, when, worker="crashed", checkpoint=crash_at("mutated"))
    assert reminders(world) == []
    after_lease = when + timedelta(seconds=POLICY.lease + 1)
    assert run(world, after_lease, worker="w2").alerts == 1
    assert run(world, after_lease + timedelta(seconds=60), worker="w2").alerts == 0
    assert len(reminders(world)) == 1


def test_two_workers_tell_each_endpoint_once(world: World) -> None:
    endpoints = [initiating(world, f"c{i}")[1] for i in range(4)]
    when = max(past(world, e) for e in endpoints)
    policy = ReconcilePolicy(not_found_grace=0.0, stuck_after=STUCK, batch=2)
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []
    told: dict[str, int] = {}

    def work(name: str) -> None:
        barrier.wait()
        try:
            reports = [world.run(worker=name, now=when, policy=policy) for _ in range(3)]
            told[name] = sum(r.alerts for r in reports)
        except BaseException as error:  # reported below
            failures.append(error)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert told["w0"] + told["w1"] == 4
    assert sorted(e for e, _, _ in reminders(world)) == sorted(endpoints)


def test_told_endpoints_cost_no_save_and_the_pass_one_indexed_query(
    world: World, db_engine: Engine
) -> None:
    endpoints = [initiating(world, f"c{i}")[1] for i in range(5)]
    when = max(past(world, e) for e in endpoints)
    assert run(world, when).alerts == 5

    with capturing_sql(db_engine) as statements:
        report = run(world, when + timedelta(seconds=3600))
    assert (report.alerts, report.saved) == (0, 0)
    due = [(s, p) for s, p in statements if "private_endpoint.status_changed_at <" in s]
    assert len(due) == 1 and "outbox.dedupe_key" in due[0][0]
    assert not any(s.startswith(("INSERT", "UPDATE")) for s, _ in statements if "outbox" in s)
    if db_engine.dialect.name == "postgresql":
        _assert_indexed(db_engine, *due[0])


def _assert_indexed(engine: Engine, statement: str, parameters: Any) -> None:
    """Postgres answers the query from indexes once the tables look like production (many
    endpoints, nearly all done, and many notices sent; added and analysed in a transaction
    that is rolled back): the endpoints by a status index, each candidate's reminder by the
    outbox's unique key."""
    with engine.connect() as connection, connection.begin() as scratch:
        run = connection.exec_driver_sql
        run(
            "INSERT INTO private_endpoint (project_id, cluster_id, stage, status, "
            "status_changed_at, created_by, subnet_ids, security_group_ids, version, created_at, "
            "updated_at) SELECT project_id, cluster_id, 'done', 'active', status_changed_at, "
            "created_by, '[]', '[]', 1, created_at, updated_at FROM private_endpoint, "
            "generate_series(1, 2000)"
        )
        run(
            "INSERT INTO outbox (dedupe_key, kind, team_id, channel_id, payload, attempts, "
            "next_attempt_at, created_at, sent_at) SELECT 'sent:' || n, 'endpoint_update', '', "
            "'C0SENT', '{}', 1, now(), now(), now() FROM generate_series(1, 20000) AS n"
        )
        run("ANALYZE private_endpoint")
        run("ANALYZE outbox")
        plan = "\n".join(run("EXPLAIN " + statement, parameters).scalars())
        assert "Seq Scan" not in plan, plan
        assert "ix_private_endpoint_status" in plan, plan
        assert "using uq_outbox_dedupe_key on outbox" in plan, plan
        scratch.rollback()


@contextmanager
def capturing_sql(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Each statement the engine runs, with its parameters."""
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((" ".join(statement.split()), parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", keep)
