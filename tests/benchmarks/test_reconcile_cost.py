"""Cost of one reconcile pass (issue 7, part 2) against a naive per-endpoint polling loop.

N private endpoints (`BENCH_RECONCILE_N`, default 100,1000,10000) over endpoint services in
three regions are seeded in the local AWS (its own process, so its work stays out of the
figures) and in a scratch database (SQLite; Postgres too when TEST_DATABASE_URL is set), most
`active`, some to activate, to accept and to remove (see `_reconcile_seed`). First the naive
loop, which only reads: per endpoint, one `describe_vpc_endpoint_connections` filtered by its
vpce id and one SELECT of its row. Then one pass of `reconcile_once` with the worker's own
gateways over HTTP and no Slack, and an idle pass after it. AWS calls are counted at the
server, SQL statements with `before_cursor_execute`. Each world is seeded twice: once to time,
once under tracemalloc.

The naive loop polls at most `BENCH_NAIVE_MAX` endpoints (default 1,000; 0 for all; 200
under tracemalloc), spread evenly, and is scaled to N: its calls and statements are one per
endpoint by construction and its time grows linearly. The local AWS scans the region's
connections on every call, so a call is slower than on AWS, which throttles instead.

Targets (met/missed is printed; only a crash, a failing pass or a lost endpoint fails):
AWS calls ≤ pages per region + the target health reads (2 per active service: its load
balancer's target groups, then its one group's health; once an interval, here every pass, the
benchmark's policy having none) + the mutations the pass must make; SQL statements outside the
units' saves and per save the same for every N, and a bounded number per transition.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import orm
from bot.storage.db import make_engine, make_sessionmaker
from bot.worker.reconciler import DEFAULT_POLICY, gateway_factory, reconcile_once
from tests.benchmarks import _reconcile_seed as world
from tests.benchmarks._db import BACKENDS, scratch_database
from tests.benchmarks._reconcile_aws import CONSUMER_KEYS, LocalAwsProcess, local_aws_process
from tests.benchmarks._reconcile_measure import (
    OUTSIDE,
    SAVE,
    SqlCount,
    Usage,
    counting_sql,
    measuring,
)
from tests.benchmarks._reconcile_report import Run, SizeResult, print_and_check
from tests.benchmarks._report import write_results

SIZES = [int(v) for v in os.environ.get("BENCH_RECONCILE_N", "100,1000,10000").split(",") if v]
NAIVE_MAX = int(os.environ.get("BENCH_NAIVE_MAX", "1000"))
TRACED_NAIVE_MAX = 200  # the loop's memory does not grow with the endpoints it has polled
WORKER = "bench-reconciler"
TRANSITION_TABLES = ("private_endpoint", "event", "outbox")


@dataclass
class Measured:
    """One measured piece of work: AWS calls by action, SQL statements, time and memory."""

    calls: Counter[str] = field(default_factory=Counter)
    sql: SqlCount = field(default_factory=SqlCount)
    usage: Usage = field(default_factory=Usage)
    report: dict[str, Any] = field(default_factory=dict)


def run_pass(aws: LocalAwsProcess, engine: Engine, *, traced: bool) -> Measured:
    """One `reconcile_once` with the worker's gateways (made before, as the loop reuses them)."""
    sessions = make_sessionmaker(engine)
    gateways = gateway_factory(endpoint_url=aws.url)
    for region in world.REGIONS:
        gateways(region)
    aws.reset_calls()
    out = Measured()
    with counting_sql(engine) as sql, measuring(traced=traced) as usage:
        report = reconcile_once(
            sessions=sessions,
            gateways=gateways,
            slack=None,
            worker_id=WORKER,
            policy=DEFAULT_POLICY,
            checkpoint=sql.checkpoint,
        )
    out.calls, out.sql, out.usage = aws.calls(), sql, usage
    out.report = dict(vars(report))
    return out


def naive_poll(aws: LocalAwsProcess, engine: Engine, *, traced: bool) -> tuple[Measured, int]:
    """The straightforward loop: list the endpoints, then per endpoint one SELECT of its row
    and one describe call filtered by its vpce id; (figures, endpoints polled). At most
    NAIVE_MAX endpoints are polled, spread evenly (TRACED_NAIVE_MAX under tracemalloc)."""
    limit = min(NAIVE_MAX or TRACED_NAIVE_MAX, TRACED_NAIVE_MAX) if traced else NAIVE_MAX
    sessions = make_sessionmaker(engine)
    clients = {
        region: boto3.client(
            "ec2",
            region_name=region,
            endpoint_url=aws.url,
            aws_access_key_id=CONSUMER_KEYS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CONSUMER_KEYS["AWS_SECRET_ACCESS_KEY"],
        )
        for region in world.REGIONS
    }
    aws.reset_calls()
    out = Measured()
    states: Counter[str] = Counter()
    with counting_sql(engine) as sql, measuring(traced=traced) as usage, sessions() as session:
        listing = select(orm.PrivateEndpoint.id, orm.PrivateEndpoint.vpce_id, orm.Cluster.region)
        rows = session.execute(listing.join(orm.Cluster).order_by(orm.PrivateEndpoint.id)).all()
        step = max(1, math.ceil(len(rows) / limit)) if limit else 1
        sample = rows[::step]
        for endpoint_id, vpce_id, region in sample:
            row = session.scalars(
                select(orm.PrivateEndpoint).where(orm.PrivateEndpoint.id == endpoint_id)
            ).one()
            answer = clients[region].describe_vpc_endpoint_connections(
                Filters=[{"Name": "vpc-endpoint-id", "Values": [vpce_id or ""]}]
            )
            for connection in answer.get("VpcEndpointConnections", []):
                states[f"{row.status}/{connection.get('VpcEndpointState')}"] += 1
    out.calls, out.sql, out.usage = aws.calls(), sql, usage
    out.report = {"polled": len(sample), "states": dict(states)}
    assert sum(states.values()) == len(sample), "the naive loop lost a connection"
    return out, len(sample)


def one_world(
    aws: LocalAwsProcess, backend: str, n: int, folder: Path, *, traced: bool
) -> tuple[world.Seeded, Measured, Measured, Measured, int]:
    """Seed a fresh world of N endpoints; the naive loop over it (it only reads), the pass,
    and the idle pass after it."""
    folder.mkdir(parents=True, exist_ok=True)
    aws.reset()
    with scratch_database(backend, folder) as url:
        engine = make_engine(url)
        try:
            sessions = make_sessionmaker(engine)
            seeded = world.seed(sessions, aws, n)
            naive, polled = naive_poll(aws, engine, traced=traced)  # it only reads
            first = run_pass(aws, engine, traced=traced)
            check_first_pass(seeded, first, sessions)
            idle = run_pass(aws, engine, traced=traced)
            assert idle.report["transitions"] == 0, f"the second pass still moved: {idle.report}"
        finally:
            engine.dispose()
    return seeded, first, idle, naive, polled


def check_first_pass(
    seeded: world.Seeded, first: Measured, sessions: sessionmaker[Session]
) -> None:
    """Hard errors: a pass that failed somewhere, or an endpoint lost or in the wrong state."""
    report, expected = first.report, seeded.expected
    claimed = min(expected.services, DEFAULT_POLICY.batch)
    assert report["claimed"] == claimed, report
    assert (report["lost"], report["aws_errors"], report["retryable"]) == (0, 0, 0), report
    if claimed == expected.services:
        assert report["accepted"] == expected.by_kind[world.INITIATING.name], report
        assert report["rejected"] == expected.by_kind[world.DELETING.name], report
        assert world.count_by_status(sessions) == expected.after_pass(), "endpoints lost"


def split_sql(sql: SqlCount) -> dict[str, int]:
    """A pass's statements: outside the saves, the saves' own, and those of transitions."""
    transition = sum(
        sql.of_table(table, phase=SAVE, verb=verb)
        for table in TRANSITION_TABLES
        for verb in ("INSERT", "UPDATE", "DELETE")
    ) + sql.of_table("outbox", phase=SAVE, verb="SELECT")
    return {
        "total": sql.total(),
        "reads": sql.total(verbs=("SELECT",)),
        "writes": sql.total(verbs=("INSERT", "UPDATE", "DELETE")),
        "other": sql.total() - sql.total(verbs=("SELECT", "INSERT", "UPDATE", "DELETE")),
        "outside_saves": sql.total(phase=OUTSIDE),
        "saves": sql.saves,
        "save_overhead": sql.total(phase=SAVE) - transition,
        "transition_statements": transition,
    }


def summarize(
    n: int,
    timed: tuple[world.Seeded, Measured, Measured, Measured, int],
    traced: tuple[world.Seeded, Measured, Measured, Measured, int],
) -> SizeResult:
    """The figures of one N: times and RSS from the timed world, tracemalloc from the other."""
    seeded, first, idle, naive, polled = timed
    _, first_t, idle_t, naive_t, _ = traced
    scale = n / polled if polled else 1.0

    def run(name: str, m: Measured, t: Measured, factor: float = 1.0) -> Run:
        return Run(
            name=name,
            calls={k: round(v * factor) for k, v in sorted(m.calls.items())},
            sql=split_sql(m.sql),
            sql_rows=dict(m.sql.rows),
            seconds=m.usage.seconds * factor,
            traced_peak_mib=t.usage.traced_peak_mib or 0.0,
            rss_delta_mib=m.usage.maxrss_delta_mib,
            hwm_delta_mib=m.usage.hwm_delta_mib,
            report=m.report,
            scaled=factor != 1.0,
        )

    naive_run = run("naive", naive, naive_t, scale)
    for key in ("total", "reads"):  # one SELECT per endpoint polled, the rest once
        naive_run.sql[key] += n - polled
    return SizeResult(
        n=n,
        expected=seeded.expected,
        seed_seconds=seeded.seconds,
        passes_needed=math.ceil(seeded.expected.services / DEFAULT_POLICY.batch),
        runs=[run("pass", first, first_t), run("idle", idle, idle_t), naive_run],
        naive_polled=polled,
    )


@pytest.mark.benchmark
@pytest.mark.parametrize("backend", BACKENDS)
def test_reconcile_pass_cost(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CONSUMER_KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", world.REGIONS[0])
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    results = []
    with local_aws_process(tmp_path) as aws:
        for n in SIZES:
            timed = one_world(aws, backend, n, tmp_path / f"n{n}-timed", traced=False)
            traced = one_world(aws, backend, n, tmp_path / f"n{n}-traced", traced=True)
            results.append(summarize(n, timed, traced))
    figures = print_and_check(backend=backend, results=results, policy=DEFAULT_POLICY)
    path = write_results(f"reconcile_cost_{backend}", figures)
    print(f"\nwritten {path}")
