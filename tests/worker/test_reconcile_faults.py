"""A reconcile pass when AWS fails in one region: unreachable (a loopback port nobody listens
on), throttling, 5xx, an answer that cannot be read, or an unexpected error in that region's
work. No exception leaves the pass, the other region's endpoints still advance in the same
pass, the errors are in /metrics by operation and kind, and each cause is logged once per pass,
without a traceback for AWS's failures."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import pytest

from bot.aws.privatelink import PrivateLinkGateway
from bot.observability import watch_aws_client
from bot.worker.reconciler import PassReport, reconcile_once
from sandbox.aws import inject_fault, provider_credentials
from tests.aws_fixtures import (  # noqa: F401 (fixtures)
    CONSUMER_ACCOUNT,
    aws_url,
    ec2_client,
    elbv2_client,
    local_aws_server,
    metric,
    unused_loopback_url,
)
from tests.worker.test_reconcile_world import (
    FAST,
    WORKER,
    World,
    world_fixture,  # noqa: F401 (fixture)
)

EURO = "eu-west-1"  # worked before us-west-2: its failure must not keep the pass from it
ERRORS = "privatelink_aws_errors_total"
REGION_FAILURES = "privatelink_reconcile_region_failures_total"


@dataclass
class Regions:
    """The bot's gateways by region, counted for /metrics as the worker's are; a region in
    `down` is at a loopback port nobody listens on."""

    world: World
    dead_url: str = field(default_factory=unused_loopback_url)
    down: set[str] = field(default_factory=set)
    made: dict[tuple[str, str], PrivateLinkGateway] = field(default_factory=dict)

    def __call__(self, region: str) -> PrivateLinkGateway:
        url = self.dead_url if region in self.down else self.world.aws_url
        if (region, url) not in self.made:
            client = ec2_client(provider_credentials(), url, region=region)
            balancers = elbv2_client(provider_credentials(), url, region=region)
            watch_aws_client(client)
            watch_aws_client(balancers)
            self.made[region, url] = PrivateLinkGateway(client, balancers=lambda: balancers)
        return self.made[region, url]

    def run(self) -> PassReport:
        """One reconcile pass over these gateways."""
        return reconcile_once(
            sessions=self.world.sessions, gateways=self, slack=None, worker_id=WORKER, policy=FAST
        )


@dataclass
class Estate:
    """An endpoint waiting to be accepted in us-west-2, and two in eu-west-1 whose account is
    still to be allowed on their services."""

    west: int
    euro_clusters: list[int]
    euro: list[int]


@pytest.fixture
def regions(world: World) -> Regions:
    return Regions(world)


@pytest.fixture
def estate(world: World, regions: Regions) -> Estate:
    west = world.cluster("orders")
    euro_clusters = [world.cluster(f"ledger-{n}", region=EURO) for n in (1, 2)]
    west_endpoint = world.endpoint(west)
    euro = [world.endpoint(c, region=EURO) for c in euro_clusters]
    for _ in range(3):
        regions.run()
    assert {world.service(c).status for c in [west, *euro_clusters]} == {"active"}
    world.interface(west_endpoint)
    regions.run()  # the consumer's account is allowed: it can create its endpoint
    world.vpce(west_endpoint, world.create_vpce(west))
    for endpoint in euro:
        world.interface(endpoint)
    return Estate(west_endpoint, euro_clusters, euro)


def status(world: World, endpoint: int) -> str:
    row = world.row(endpoint)
    assert row is not None
    return str(row.status)


def complaints(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the bot logged at warning or above (then forgets it)."""
    found = [r for r in caplog.records if r.name.startswith("bot") and r.levelno >= logging.WARNING]
    caplog.clear()
    return found


def test_an_unreachable_region_costs_one_call_and_one_line_per_pass(
    world: World, regions: Regions, estate: Estate, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    regions.down.add(EURO)
    network = metric(ERRORS, kind="network")
    unreachable = metric(REGION_FAILURES, reason="aws_unreachable")

    for n in range(1, 4):
        started = time.monotonic()
        report = regions.run()
        took = time.monotonic() - started
        print(f"\npass {n} with {EURO} unreachable: {took:.3f} s, {report}")
        assert (report.regions, report.regions_failed, report.retryable) == (2, 1, 1)
        assert metric(ERRORS, kind="network") == network + n  # one call tried, not one per unit
        assert metric(REGION_FAILURES, reason="aws_unreachable") == unreachable + n
        [line] = complaints(caplog)
        assert line.getMessage().startswith("aws_retry step=")
        assert "code=EndpointConnectionError count=1 regions=eu-west-1" in line.getMessage()
        assert "could not reach AWS (EC2 in eu-west-1)" in line.getMessage()
        assert line.exc_info is None and "Traceback" not in caplog.text
        assert took < 5
    assert status(world, estate.west) == "pending"  # accepted in the first pass
    assert [status(world, e) for e in estate.euro] == ["initiating", "initiating"]

    regions.down.clear()
    assert regions.run().regions_failed == 0
    for cluster in estate.euro_clusters:
        assert world.service(cluster).allowed_accounts == [CONSUMER_ACCOUNT]
    assert complaints(caplog) == []


def test_throttling_and_5xx_in_one_region_leave_the_others_going(
    world: World, regions: Regions, estate: Estate, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    allow = "ModifyVpcEndpointServicePermissions"
    inject_fault(action=allow, code="InternalError", status=500, times=2, region=EURO)
    inject_fault(
        action="DescribeVpcEndpointServiceConfigurations",
        code="RequestLimitExceeded",
        region=EURO,
    )
    inject_fault(
        action="DescribeVpcEndpointConnections", status=503, body="Unavailable", region=EURO
    )
    before = {
        kind: metric(ERRORS, kind=kind) for kind in ("throttling", "server", "network", "client")
    }

    report = regions.run()

    assert status(world, estate.west) == "pending"
    assert (report.regions_failed, report.retryable, report.aws_errors) == (0, 4, 0)
    assert metric(ERRORS, operation=allow, kind="server") >= 2
    after = {kind: metric(ERRORS, kind=kind) - count for kind, count in before.items()}
    assert after == {"throttling": 1, "server": 3, "network": 0, "client": 0}
    lines = sorted(r.getMessage().split(":")[0] for r in complaints(caplog))
    assert lines == [
        "aws_retry step=allow_account code=InternalError count=2 regions=eu-west-1 services="
        + ",".join(str(world.service(c).id) for c in estate.euro_clusters),
        "aws_retry step=list_connections code=ResponseParserError count=1 regions=eu-west-1 "
        "services=-",
        "aws_retry step=list_services code=RequestLimitExceeded count=1 regions=eu-west-1 "
        "services=-",
    ]
    assert "Traceback" not in caplog.text

    assert regions.run().retryable == 0  # the faults are spent: eu-west-1 catches up
    for cluster in estate.euro_clusters:
        assert world.service(cluster).allowed_accounts == [CONSUMER_ACCOUNT]


def test_an_unexpected_error_in_one_region_stops_only_that_region(
    world: World, regions: Regions, estate: Estate, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    euro_services = {world.service(c).id for c in estate.euro_clusters}

    def breaks(step: str, service_id: int) -> None:
        if service_id in euro_services:
            raise RuntimeError(f"{step} of service {service_id} breaks")

    failures = metric(REGION_FAILURES, reason="error")

    report = reconcile_once(
        sessions=world.sessions,
        gateways=regions,
        slack=None,
        worker_id=WORKER,
        policy=FAST,
        checkpoint=breaks,
    )

    assert (report.regions, report.regions_failed) == (2, 1)
    assert status(world, estate.west) == "pending"
    assert metric(REGION_FAILURES, reason="error") == failures + 1
    [line] = complaints(caplog)
    assert line.getMessage().startswith(
        "region_failed error=RuntimeError count=1 regions=eu-west-1"
    )
    assert line.exc_info is not None  # a bug shows its traceback, once
