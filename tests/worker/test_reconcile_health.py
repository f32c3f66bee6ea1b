"""The health behind Active endpoints: when no target behind a cluster's load balancer is healthy
in two reads in a row, each of its Active endpoints gets one reply in its thread, also in the
channel, and its message says so; one more when a target is healthy again. Never at every
pass, never for an endpoint that is not Active, never twice (crashes, concurrent saves); AWS
errors while reading neither fail the pass nor raise false alerts; at most one read an
interval, whatever the hot cadence. Over the local AWS (HTTP), the Slack stand-in and
SQLite/Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select, update

from bot import metrics
from bot.notices.endpoint_alerts import ENDPOINT_ALERT
from bot.reconcile import cluster_health
from bot.storage import orm
from bot.storage.db import transaction
from bot.storage.types import utcnow
from bot.worker.reconciler import ReconcilePolicy
from sandbox.aws import inject_fault, provider_credentials
from sandbox.slack_api import RunningStandIn
from tests.aws_fixtures import REGION, aws_url, ec2_client, local_aws_server  # noqa: F401
from tests.worker.test_outbox import drain
from tests.worker.test_reconcile_world import (
    CHANNEL,
    Crash,
    World,
    crash_at,
    world_fixture,  # noqa: F401 (fixture)
)

DOWN = "targets_down"
UP = "targets_up"


def active(world: World, cluster: int) -> int:
    """A new endpoint on `cluster` taken to Active, the way its owner does; its id."""
    endpoint = world.endpoint(cluster)
    world.ready(cluster)
    world.interface(endpoint)
    world.run()  # the user's account is allowed
    world.vpce(endpoint, world.create_vpce(cluster))
    world.run()  # accepted
    world.create(endpoint)
    world.run()
    row = world.row(endpoint)
    assert row is not None and row.status == "active"
    return endpoint


def initiating(world: World, cluster: int) -> int:
    """A new endpoint on `cluster` waiting for its VPC endpoint; its id."""
    endpoint = world.endpoint(cluster)
    world.interface(endpoint)
    world.run()
    return endpoint


def stop(world: World, cluster: int) -> None:
    """Every instance behind the cluster's load balancer is stopped."""
    ec2 = ec2_client(provider_credentials(), world.aws_url)
    ec2.stop_instances(InstanceIds=list(world.networks[cluster].instance_ids))


def start(world: World, cluster: int, count: int = 1) -> None:
    """The first `count` instances behind the cluster's load balancer run again."""
    ec2 = ec2_client(provider_credentials(), world.aws_url)
    ec2.start_instances(InstanceIds=list(world.networks[cluster].instance_ids[:count]))


def elbv2(world: World) -> Any:
    return provider_credentials().elbv2(region=REGION, endpoint_url=world.aws_url)


def deregister(world: World, cluster: int) -> None:
    """Every target is taken out of the cluster's target group."""
    network = world.networks[cluster]
    targets: Any = [{"Id": i, "Port": 4000} for i in network.instance_ids]
    elbv2(world).deregister_targets(TargetGroupArn=network.target_group_arn, Targets=targets)


def register(world: World, cluster: int) -> None:
    """The cluster's instances are registered with its target group again."""
    network = world.networks[cluster]
    targets: Any = [{"Id": i, "Port": 4000} for i in network.instance_ids]
    elbv2(world).register_targets(TargetGroupArn=network.target_group_arn, Targets=targets)


def alerts(world: World) -> list[tuple[int | None, str, str, bool]]:
    """(endpoint, alert, dedupe key, broadcast) of each alert queued, oldest first."""
    with world.sessions() as session:
        query = select(orm.Outbox).where(orm.Outbox.kind == ENDPOINT_ALERT).order_by(orm.Outbox.id)
        return [
            (r.private_endpoint_id, r.payload["alert"], r.dedupe_key, r.payload["broadcast"])
            for r in session.scalars(query)
        ]


def health(world: World, cluster: int) -> tuple[Any, ...]:
    """(healthy, total, unhealthy reads in a row, told down, changes told) of the cluster."""
    with world.sessions() as session:
        row = session.get(orm.Cluster, cluster)
        assert row is not None
        h = row.health
        return h.healthy, h.total, h.unhealthy_reads, h.down, h.changes


def parent_ts(world: World, endpoint: int) -> str:
    row = world.row(endpoint)
    assert row is not None and row.alert_ts is not None
    return row.alert_ts


def test_an_active_endpoint_is_told_once_its_targets_are_down_and_once_they_are_back(
    world: World, running: RunningStandIn, client: WebClient
) -> None:
    cluster = world.cluster("orders")
    endpoint = active(world, cluster)
    assert health(world, cluster) == (2, 2, 0, False, 0)
    drain(world.sessions, client)
    ts = parent_ts(world, endpoint)
    replies_before = len(running.standin.replies(CHANNEL, ts))

    stop(world, cluster)
    first = world.run()  # one read with none healthy: a target may be being replaced
    assert (first.alerts, first.regions_failed) == (0, 0)
    assert health(world, cluster) == (0, 2, 1, False, 0)
    second = world.run()
    assert second.alerts == 1
    assert health(world, cluster) == (0, 2, 2, True, 1)
    for _ in range(3):  # still down: nothing more, and nothing saved
        again = world.run()
        assert (again.alerts, again.saved) == (0, 0)
    key = f"endpoint:{endpoint}:alert:{DOWN}:change:1"
    assert alerts(world) == [(endpoint, DOWN, key, True)]

    drain(world.sessions, client)
    replies = running.standin.replies(CHANNEL, ts)
    assert len(replies) == replies_before + 1
    down = replies[-1]
    assert down["text"] == (
        f"Private endpoint #{endpoint}: clients cannot reach orders now: 0 of 2 targets healthy "
        f"({world.networks[cluster].instance_ids[0]}:4000 is unused: Target is in the stopped "
        "state)"
    )
    assert down.get("subtype") == "thread_broadcast"  # in the channel too
    parent = running.standin.message(CHANNEL, ts)
    assert parent is not None
    assert ":warning: clients cannot reach orders now: 0 of 2 targets healthy" in str(
        parent["blocks"]
    )

    start(world, cluster)
    back = world.run()  # the first healthy read says so
    assert back.alerts == 1
    assert health(world, cluster) == (1, 2, 0, False, 2)
    assert world.run().alerts == 0
    assert [a for _, a, _, _ in alerts(world)] == [DOWN, UP]
    drain(world.sessions, client)
    up = running.standin.replies(CHANNEL, ts)[-1]
    assert up["text"] == (
        f"Private endpoint #{endpoint}: clients can reach orders again: 1 of 2 targets healthy"
    )
    assert up.get("subtype") == "thread_broadcast"
    parent = running.standin.message(CHANNEL, ts)
    assert parent is not None and "cannot reach" not in str(parent["blocks"])
    assert "Active" in str(parent["blocks"])


def test_deregistered_targets_are_told_and_each_change_again_has_its_own_alert(
    world: World,
) -> None:
    cluster = world.cluster("orders")
    endpoint = active(world, cluster)
    deregister(world, cluster)
    world.run()
    assert world.run().alerts == 1
    assert health(world, cluster) == (0, 0, 2, True, 1)
    register(world, cluster)
    assert world.run().alerts == 1
    deregister(world, cluster)  # down again: told again, under a new key
    assert [world.run().alerts for _ in range(3)] == [0, 1, 0]
    assert [(a, k) for _, a, k, _ in alerts(world)] == [
        (DOWN, f"endpoint:{endpoint}:alert:{DOWN}:change:1"),
        (UP, f"endpoint:{endpoint}:alert:{UP}:change:2"),
        (DOWN, f"endpoint:{endpoint}:alert:{DOWN}:change:3"),
    ]
    with world.sessions() as session:
        row = session.scalars(
            select(orm.Outbox).where(orm.Outbox.dedupe_key.like("%:change:3"))
        ).one()
    assert row.payload["endpoint"]["targets"] == {
        "healthy": 0,
        "total": 0,
        "reason": "no target is registered with the load balancer",
        "down": True,
    }


def test_nothing_for_endpoints_that_are_not_active(world: World) -> None:
    cluster = world.cluster("orders")
    told = active(world, cluster)
    waiting = initiating(world, cluster)
    quiet = world.cluster("billing")  # its service is active, its endpoint is not
    untold = world.endpoint(quiet)
    world.ready(quiet)
    stop(world, cluster)
    stop(world, quiet)
    assert [world.run().alerts for _ in range(3)] == [0, 1, 0]
    assert [(e, a) for e, a, _, _ in alerts(world)] == [(told, DOWN)]
    assert health(world, quiet)[3] is True  # known down, told to nobody
    assert {waiting, untold}.isdisjoint(e for e, *_ in alerts(world))
    start(world, quiet)
    assert world.run().alerts == 0  # back, with still nobody Active there


def test_aws_errors_while_reading_fail_nothing_and_raise_no_false_alert(world: World) -> None:
    cluster = world.cluster("orders")
    active(world, cluster)
    inject_fault(action="DescribeTargetHealth", code="InternalError", status=500, times=2)
    for _ in range(2):  # AWS cannot say: no change, the pass goes on
        report = world.run()
        assert (report.retryable, report.regions_failed, report.alerts) == (1, 0, 0)
        assert health(world, cluster) == (2, 2, 0, False, 0)
    inject_fault(
        action="DescribeTargetGroups",
        code="LoadBalancerNotFound",
        message="The specified load balancer does not exist.",
        status=400,
    )
    report = world.run()
    assert (report.aws_errors, report.regions_failed, report.alerts) == (1, 0, 0)

    stop(world, cluster)  # one read with none healthy, then an error between two
    assert world.run().alerts == 0
    inject_fault(action="DescribeTargetHealth", code="InternalError", status=500)
    assert world.run().alerts == 0
    assert health(world, cluster)[2:] == (1, False, 0)
    assert world.run().alerts == 1  # the second read that found none healthy
    assert len(alerts(world)) == 1


def test_a_crash_before_the_save_tells_once_on_the_next_pass(world: World) -> None:
    cluster = world.cluster("orders")
    endpoint = active(world, cluster)
    stop(world, cluster)
    world.run()
    with pytest.raises(Crash):
        world.run(checkpoint=crash_at("mutated"))
    assert alerts(world) == []
    assert health(world, cluster)[2:] == (1, False, 0)
    assert world.run(now=utcnow() + timedelta(seconds=400)).alerts == 1  # past the lost lease
    assert [(e, a) for e, a, _, _ in alerts(world)] == [(endpoint, DOWN)]


def test_a_change_saved_meanwhile_by_another_worker_is_not_told_again(world: World) -> None:
    cluster = world.cluster("orders")
    active(world, cluster)
    stop(world, cluster)
    world.run()

    def meanwhile(step: str, service_id: int) -> None:
        """Another worker told the change while this one read (its lease ran out)."""
        with transaction(world.sessions) as session:
            session.execute(
                update(orm.Cluster)
                .where(orm.Cluster.id == cluster)
                .values(health_changes=1, health_down=True, unhealthy_reads=2)
            )

    report = world.run(checkpoint=meanwhile)
    assert (report.alerts, report.stale) == (0, 1)
    assert alerts(world) == []
    assert world.run().alerts == 0  # down, and known to be: nothing to tell


def test_targets_are_read_once_an_interval_whatever_the_hot_cadence(world: World) -> None:
    cluster = world.cluster("orders")
    active(world, cluster)
    initiating(world, cluster)  # someone waits: the service is hot
    policy = ReconcilePolicy(not_found_grace=0.0, interval=60.0, hot_interval=2.0)
    start_at = utcnow() + timedelta(seconds=400)  # past the set-up's leases

    def reads(at: datetime) -> int:
        world.balancer_calls.clear()
        report = world.run(now=at, policy=policy)
        assert report.claimed == 1
        return world.balancer_calls["DescribeTargetGroups"]

    assert reads(start_at) == 1
    assert world.balancer_calls["DescribeTargetHealth"] == 1  # one target group
    assert [reads(start_at + timedelta(seconds=s)) for s in (2, 4, 30, 58)] == [0, 0, 0, 0]
    assert reads(start_at + timedelta(seconds=60)) == 1


def test_metrics_show_the_healthy_targets_of_each_cluster(world: World) -> None:
    orders = world.cluster("orders")
    active(world, orders)
    billing = world.cluster("billing")
    active(world, billing)
    stop(world, billing)
    world.run()
    shown = metrics.render(world.sessions)
    with world.sessions() as session:
        project = session.scalars(select(orm.Project.id)).one()
    healthy = "privatelink_cluster_healthy_targets"
    assert f'{healthy}{{project="{project}",cluster="orders"}} 2' in shown
    assert f'{healthy}{{project="{project}",cluster="billing"}} 0' in shown
    assert f'privatelink_cluster_targets{{project="{project}",cluster="billing"}} 2' in shown


def test_a_pass_reads_at_most_its_bound_of_load_balancers_the_longest_unread_first(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more clusters due than a pass may read, the rest wait for the next pass: each
    pass reads those read longest ago, so every cluster gets its turn."""
    monkeypatch.setattr(cluster_health, "READS_PER_PASS", 1)
    clusters = [world.cluster(name) for name in ("orders", "ledger")]
    for cluster in clusters:
        active(world, cluster)
    policy = ReconcilePolicy(not_found_grace=0.0, interval=60.0, hot_interval=2.0)
    start_at = utcnow() + timedelta(seconds=400)  # past the set-up's leases

    def read_at(cluster: int) -> datetime | None:
        with world.sessions() as session:
            row = session.get(orm.Cluster, cluster)
            assert row is not None
            return row.health_read_at

    before = {c: read_at(c) for c in clusters}
    world.balancer_calls.clear()
    world.run(now=start_at, policy=policy)
    assert world.balancer_calls["DescribeTargetGroups"] == 1
    first = next(c for c in clusters if read_at(c) != before[c])
    assert first == min(clusters, key=lambda c: before[c] or datetime.min.replace(tzinfo=UTC))

    world.balancer_calls.clear()
    world.run(now=start_at + timedelta(seconds=61), policy=policy)
    assert world.balancer_calls["DescribeTargetGroups"] == 1
    assert all(read_at(c) != before[c] for c in clusters), "the other one's turn"
