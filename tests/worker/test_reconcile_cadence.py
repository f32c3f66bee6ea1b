"""How often the worker looks at a service: every few seconds while someone waits on AWS (a
wizard for its service or its endpoint's acceptance, an endpoint to become available or to go),
every reconcile interval otherwise, so AWS calls grow with the waiting wizards, not the fleet.
The passes run with the clock moved by hand, over the local AWS and SQLite/Postgres."""

from __future__ import annotations

from datetime import timedelta

from bot.storage.types import utcnow
from bot.worker.reconciler import ReconcilePolicy
from bot.worker.runner import policies
from sandbox.aws import call_count
from tests.aws_fixtures import aws_url, local_aws_server  # noqa: F401 (fixtures)
from tests.worker.test_reconcile_world import World, world_fixture  # noqa: F401 (fixture)

INTERVAL = 15.0
CADENCE = ReconcilePolicy(not_found_grace=0.0, interval=INTERVAL, hot_interval=2.0)
CONNECTIONS = "DescribeVpcEndpointConnections"


def test_the_runner_looks_at_waiting_services_every_two_seconds() -> None:
    reconcile, _ = policies(15.0)
    assert (reconcile.interval, reconcile.hot_interval, reconcile.tick) == (15.0, 2.0, 2.0)
    slow, _ = policies(1.0)  # an interval shorter than that is the tick itself
    assert (slow.hot_interval, slow.tick) == (1.0, 1.0)


def test_a_service_nobody_waits_on_keeps_the_interval(world: World) -> None:
    cluster = world.cluster()
    world.endpoint(cluster)  # its wizard at the interface stage: nothing waits on AWS
    world.ready(cluster)
    start = utcnow() + timedelta(seconds=60)
    assert world.run(now=start, policy=CADENCE).claimed == 1
    assert world.run(now=start + timedelta(seconds=2.5), policy=CADENCE).claimed == 0
    assert world.run(now=start + timedelta(seconds=10), policy=CADENCE).claimed == 0
    assert world.run(now=start + timedelta(seconds=15), policy=CADENCE).claimed == 1


def test_a_waiting_wizard_makes_its_service_hot_and_only_its_own(world: World) -> None:
    waiting, idle = world.cluster(), world.cluster("ledger")
    endpoint = world.endpoint(waiting)
    world.endpoint(idle)
    world.ready(waiting)
    world.ready(idle)
    world.interface(endpoint)  # initiating: waits for its user's endpoint
    start = utcnow() + timedelta(seconds=60)
    assert world.run(now=start, policy=CADENCE).claimed == 2
    reads = call_count(action=CONNECTIONS)
    for second in (2, 4, 6, 8):
        report = world.run(now=start + timedelta(seconds=second), policy=CADENCE)
        assert report.claimed == 1  # the waiting one, every two seconds; the idle one waits
    assert call_count(action=CONNECTIONS) - reads == 4  # one read a pass, of that service
    assert world.run(now=start + timedelta(seconds=15), policy=CADENCE).claimed == 2


def test_a_wizard_left_waiting_past_the_window_goes_back_to_the_interval(world: World) -> None:
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    world.ready(cluster)
    world.interface(endpoint)
    later = utcnow() + timedelta(seconds=CADENCE.hot_window + 60)
    assert world.run(now=later, policy=CADENCE).claimed == 1
    assert world.run(now=later + timedelta(seconds=2), policy=CADENCE).claimed == 0
    assert world.run(now=later + timedelta(seconds=15), policy=CADENCE).claimed == 1
