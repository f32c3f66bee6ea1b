"""The one paste in figures (issue 23, item 4), with the worker's default settings
(`BOT_RECONCILE_INTERVAL` 15 s, services someone waits on every 2 s), against the cadence before
it (every service every interval, nothing sooner):

1. Seconds from the user's `create-vpc-endpoint` to the connection accepted and to the
   endpoint Active, p50/p95 over `BENCH_PASTE_TRIALS` wizards (default 10; 3 for the old
   cadence, whose steps wait up to an interval each): the real reconcile loop in a thread,
   the local AWS in-process, each wizard the only one of its account waiting (taken on its own).
2. AWS calls per minute of simulated time with `BENCH_PASTE_N` endpoints (default 10,000, in
   three regions, seeded as the reconcile-cost benchmark seeds them and settled by one pass)
   and `BENCH_PASTE_WAITING` wizards waiting for their endpoints (default 20, each on its own
   service: the worst case), counted at the local AWS (its own process); and the same fleet
   with no wizard waiting.

Targets (printed met/missed): accepted within about two hot intervals, Active within about
three (p95), and the calls a waiting wizard adds a minute bounded by a few per hot pass.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.states import EndpointStatus, Stage
from bot.storage import orm
from bot.storage.db import make_engine, make_sessionmaker, transaction
from bot.storage.types import utcnow
from bot.worker.reconciler import ReconcilePolicy, gateway_factory, reconcile_once, run_forever
from bot.worker.runner import policies
from tests.aws_fixtures import (  # noqa: F401 (fixtures)
    CONSUMER_ACCOUNT,
    aws_url,
    local_aws_server,
)
from tests.benchmarks import _reconcile_seed as fleet
from tests.benchmarks._db import scratch_database
from tests.benchmarks._reconcile_aws import CONSUMER_KEYS, LocalAwsProcess, local_aws_process
from tests.benchmarks._report import percentile, write_results
from tests.worker.test_reconcile_world import World, world_fixture  # noqa: F401 (fixture)

pytestmark = pytest.mark.benchmark

INTERVAL = 15.0
NOW, BEFORE = policies(INTERVAL)[0], ReconcilePolicy(lease=300.0, lease_margin=75.0)
TRIALS = int(os.environ.get("BENCH_PASTE_TRIALS", "10"))
OLD_TRIALS = min(TRIALS, 3)
N = int(os.environ.get("BENCH_PASTE_N", "10000"))
WAITING = int(os.environ.get("BENCH_PASTE_WAITING", "20"))
MINUTE = 60.0


# --- 1. seconds to accepted and to Active -----------------------------------------------------


@contextmanager
def reconcile_loop(world: World, policy: ReconcilePolicy) -> Iterator[None]:
    """The worker's reconcile loop, as `serve` runs it, until the block ends."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever,
        kwargs={
            "stop": stop,
            "interval": INTERVAL,
            "sessions": world.sessions,
            "gateways": world.gateway,
            "slack": None,
            "policy": policy,
        },
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=60)


def wait_for(world: World, endpoint: int, status: str, *, limit: float) -> float:
    """Seconds until the endpoint is in `status` (polled every 50 ms), or fail after `limit`."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        row = world.row(endpoint)
        if row is not None and row.status == status:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"endpoint {endpoint} not {status} after {limit}s")


def trials(
    world: World, policy: ReconcilePolicy, count: int, cluster_name: str
) -> list[tuple[float, float]]:
    """(seconds to accepted, seconds to Active) of `count` wizards, one after another."""
    cluster = world.cluster(cluster_name)
    times = []
    with reconcile_loop(world, policy):
        for _ in range(count):
            endpoint = world.endpoint(cluster)
            world.interface(endpoint)
            deadline = time.monotonic() + 4 * INTERVAL
            while CONSUMER_ACCOUNT not in world.service(cluster).allowed_accounts:
                assert time.monotonic() < deadline, "the account was never allowed"
                time.sleep(0.1)
            world.create_vpce(cluster)  # the block's create-vpc-endpoint
            created = time.monotonic()
            wait_for(world, endpoint, "pending", limit=4 * INTERVAL)
            accepted = time.monotonic() - created
            wait_for(world, endpoint, "active", limit=4 * INTERVAL)
            times.append((accepted, time.monotonic() - created))
            world.terminate(endpoint)
    return times


def figures(times: list[tuple[float, float]]) -> dict[str, float]:
    accepted, active = [a for a, _ in times], [b for _, b in times]
    return {
        "trials": len(times),
        "accepted_p50_s": round(percentile(accepted, 50), 2),
        "accepted_p95_s": round(percentile(accepted, 95), 2),
        "active_p50_s": round(percentile(active, 50), 2),
        "active_p95_s": round(percentile(active, 95), 2),
    }


def test_seconds_from_create_vpc_endpoint_to_accepted_and_active(world: World) -> None:
    now = figures(trials(world, NOW, TRIALS, "orders"))
    before = figures(trials(world, BEFORE, OLD_TRIALS, "ledger"))
    print(f"\nseconds from create-vpc-endpoint, default settings (interval {INTERVAL:.0f} s):")
    print(f"{'cadence':<34}{'trials':>7}{'accepted p50':>14}{'p95':>7}{'Active p50':>12}{'p95':>7}")
    for name, row in (("now: waiting services every 2 s", now), ("before: every interval", before)):
        print(
            f"{name:<34}{row['trials']:>7}{row['accepted_p50_s']:>14}"
            f"{row['accepted_p95_s']:>7}{row['active_p50_s']:>12}{row['active_p95_s']:>7}"
        )
    met = now["accepted_p95_s"] <= 2.5 * NOW.hot_interval and now["active_p95_s"] <= (
        3.5 * NOW.hot_interval
    )
    print(f"target (accepted ≤ ~2 hot intervals, Active ≤ ~3, p95): {'met' if met else 'MISSED'}")
    write_results("one_paste_latency", {"now": now, "before": before, "interval_s": INTERVAL})


# --- 2. AWS calls a minute --------------------------------------------------------------------


def add_waiting_wizards(sessions: sessionmaker[Session], count: int) -> None:
    """`count` wizards of the first account, each waiting for its endpoint on its own service."""
    with transaction(sessions) as session:
        services = session.execute(
            select(orm.EndpointService.cluster_id, orm.Cluster.project_id)
            .join(orm.Cluster, orm.Cluster.id == orm.EndpointService.cluster_id)
            .order_by(orm.EndpointService.id)
            .limit(count)
        ).all()
        assert len(services) == count, f"only {len(services)} services for {count} wizards"
        now = utcnow()
        rows: list[dict[str, Any]] = [
            {
                "project_id": project_id,
                "cluster_id": cluster_id,
                "stage": Stage.ACCEPT_ENDPOINT_CONNECTION,
                "status": EndpointStatus.INITIATING,
                "created_by": fleet.OWNER,
                "account_id": fleet.ACCOUNTS[0],
                "vpc_id": "vpc-0a1b2c3d4e5f67890",
                "subnet_ids": [],
                "security_group_ids": [],
                "created_at": now,
                "updated_at": now,
            }
            for cluster_id, project_id in services
        ]
        session.execute(insert(orm.PrivateEndpoint), rows)


def calls_in_a_minute(
    aws: LocalAwsProcess, sessions: sessionmaker[Session], policy: ReconcilePolicy, start: datetime
) -> tuple[Counter[str], int]:
    """AWS calls of the passes the loop makes in one simulated minute from `start` (a pass
    every tick), and how many passes claimed anything."""
    gateways = gateway_factory(endpoint_url=aws.url)
    tick = policy.tick if policy.interval else INTERVAL
    aws.reset_calls()
    worked = 0
    for step in range(round(MINUTE / tick)):
        report = reconcile_once(
            sessions=sessions,
            gateways=gateways,
            slack=None,
            worker_id="bench-one-paste",
            now=start + timedelta(seconds=step * tick),
            policy=policy,
        )
        assert (report.aws_errors, report.lost) == (0, 0), report
        worked += report.claimed > 0
    return aws.calls(), worked


def test_aws_calls_a_minute_with_waiting_wizards_at_fleet_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CONSUMER_KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", fleet.REGIONS[0])
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    results: dict[str, Any] = {"endpoints": N, "waiting_wizards": WAITING}
    with local_aws_process(tmp_path) as aws, scratch_database("sqlite", tmp_path) as url:
        engine = make_engine(url)
        try:
            sessions = make_sessionmaker(engine)
            fleet.seed(sessions, aws, N)
            start = utcnow() + timedelta(seconds=1)
            calls_in_a_minute(aws, sessions, BEFORE, start)  # settle: everything moved once
            start += timedelta(minutes=1)
            idle_now, _ = calls_in_a_minute(aws, sessions, NOW, start)
            add_waiting_wizards(sessions, WAITING)
            calls_in_a_minute(aws, sessions, NOW, start + timedelta(minutes=1))  # allowed once
            waiting_now, passes = calls_in_a_minute(
                aws, sessions, NOW, start + timedelta(minutes=2)
            )
            waiting_before, _ = calls_in_a_minute(
                aws, sessions, BEFORE, start + timedelta(minutes=3)
            )
        finally:
            engine.dispose()
    rows = {
        "now, no wizard waiting": idle_now,
        f"now, {WAITING} wizards waiting": waiting_now,
        f"before, {WAITING} wizards waiting": waiting_before,
    }
    print(f"\nAWS calls a minute, {N:,} endpoints, interval {INTERVAL:.0f} s:")
    for name, calls in rows.items():
        detail = ", ".join(f"{k} {v}" for k, v in sorted(calls.items()))
        print(f"  {name:<34}{sum(calls.values()):>6}   ({detail})")
        results[name] = dict(calls)
    added = sum(waiting_now.values()) - sum(idle_now.values())
    per_pass = added / max(1, passes)
    print(f"  the waiting wizards add {added} calls a minute ({per_pass:.1f} per hot pass)")
    met = per_pass <= 3 * len(fleet.REGIONS)
    print(f"target (a few calls per hot pass, whatever the fleet): {'met' if met else 'MISSED'}")
    results["added_per_minute"], results["added_per_hot_pass"] = added, round(per_pass, 2)
    write_results("one_paste_calls", results)
