"""Peak memory of `python -m bot serve`, with its worker, while it tracks 10,000 endpoints
(issue 7, part 4).

The local AWS runs in a process of its own (`_reconcile_aws`), seeded with the services and
connections of `BENCH_MEMORY_N` (default 10,000) private endpoints over three regions (see
`_reconcile_seed`: most active, some to activate, to accept and to remove); the Slack Web API
stand-in in another; the database is a seeded SQLite file. Then `serve` starts as a user would
start it (HTTP, the worker on by default) with `BOT_RECONCILE_INTERVAL=1`, and is watched from
outside: its RSS from /proc/<pid>/status (VmRSS every SAMPLE_SECONDS, VmHWM for the peak), its
passes from `GET /metrics`, until `BENCH_MEMORY_PASSES` (default 8) passes are done. The
outbox sender meanwhile posts the first pass's alerts to the stand-in, as it would in use.

Target: peak RSS < 250 MB (met/missed is printed). The test fails only on a hard error: a
process that dies, a pass that fails, an endpoint lost or in the wrong state.

A second test tells what the worker's EC2 clients cost, region by region, in fresh processes
(`_memory_probe`): as the worker makes them, and all from one boto3 session.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.storage.db import make_engine, make_sessionmaker
from sandbox.slack.workspace import DEFAULT_TOKEN
from tests.benchmarks import _reconcile_seed as world
from tests.benchmarks._db import scratch_database
from tests.benchmarks._memory_watch import PASSES_METRIC, RssTimeline, metrics, proc_status_kib
from tests.benchmarks._procs import REPO_ROOT, Proc, free_port, serving
from tests.benchmarks._reconcile_aws import CONSUMER_KEYS, local_aws_process
from tests.benchmarks._report import table, write_results

ENDPOINTS = int(os.environ.get("BENCH_MEMORY_N", "10000"))
PASSES = int(os.environ.get("BENCH_MEMORY_PASSES", "8"))
TARGET_BYTES = 250 * 1000 * 1000
SAMPLE_SECONDS = 0.2
METRICS_SECONDS = 1.0
TIMEOUT_SECONDS = float(os.environ.get("BENCH_MEMORY_TIMEOUT", "600"))
SIGNING_SECRET = "bench-memory-signing-secret"
MIB = 1024.0
PROBE_REGIONS = (
    "us-west-2",
    "us-east-1",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
)


def watch(
    proc: Proc, base_url: str, passes: int, timeline: RssTimeline
) -> tuple[dict[str, float], float]:
    """Sample the process's RSS until `passes` reconcile passes are done; the last metrics
    and the seconds it took. A dead process or a timeout fails."""
    started = time.monotonic()
    last_metrics: dict[str, float] = {}
    next_metrics = started
    while True:
        now = time.monotonic() - started
        assert proc.alive(), f"serve exited:\n{proc.log_tail()}"
        timeline.add(now, proc_status_kib(proc.popen.pid, "VmRSS"))
        if time.monotonic() >= next_metrics:
            last_metrics = metrics(f"{base_url}/metrics")
            next_metrics = time.monotonic() + METRICS_SECONDS
            done = int(last_metrics.get(f"{PASSES_METRIC}_count", 0))
            if done:
                timeline.passed(done, now, timeline.samples[-1][1])
            if done >= passes:
                return last_metrics, now
        assert now < TIMEOUT_SECONDS, f"{passes} passes not done in {TIMEOUT_SECONDS:.0f}s"
        time.sleep(SAMPLE_SECONDS)


def failures_in_log(proc: Proc) -> list[str]:
    """Lines of the bot's log that report a failed pass or an uncaught error."""
    text = proc.log_path.read_text(encoding="utf-8", errors="replace")
    marks = ("reconcile_pass_failed", "Traceback (most recent call last)")
    return [line for line in text.splitlines() if any(mark in line for mark in marks)]


@pytest.mark.benchmark
def test_serve_peak_rss_while_tracking_endpoints(tmp_path: Path) -> None:
    slack_port, bot_port = free_port(), free_port()
    slack_root = f"http://127.0.0.1:{slack_port}/"
    bot_url = f"http://127.0.0.1:{bot_port}"
    with (
        local_aws_process(tmp_path) as aws,
        scratch_database("sqlite", tmp_path) as database_url,
        serving(
            "slack-standin",
            "sandbox.slack",
            ["--port", str(slack_port), "--trigger-ttl", "0"],
            ready_url=f"{slack_root}_standin/calls?method=auth.test",
            env={},
            log_dir=tmp_path,
        ),
    ):
        engine = make_engine(database_url)
        try:
            sessions = make_sessionmaker(engine)
            seeded = world.seed(sessions, aws, ENDPOINTS)
            env = {
                **CONSUMER_KEYS,
                "AWS_DEFAULT_REGION": world.REGIONS[0],
                "AWS_ENDPOINT_URL": aws.url,
                "DATABASE_URL": database_url,
                "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_API_URL": f"{slack_root}api/",
                "BOT_RECONCILE_INTERVAL": "1",
            }
            timeline = RssTimeline()
            with serving(
                "bot-serve",
                "bot",
                # one process: its RSS is the figure (`--processes N` forks N of them)
                ["serve", "--host", "127.0.0.1", "--port", str(bot_port), "--processes", "1"],
                ready_url=f"{bot_url}/healthz",
                env=env,
                log_dir=tmp_path,
            ) as bot:
                pid = bot.popen.pid
                last, seconds = watch(bot, bot_url, PASSES, timeline)
                # the kernel updates VmHWM lazily: a sample may have seen more
                peak_kib = max(proc_status_kib(pid, "VmHWM"), timeline.max_kib)
                final_kib = proc_status_kib(pid, "VmRSS")
                failures = failures_in_log(bot)
            by_status = world.count_by_status(sessions)
        finally:
            engine.dispose()
    figures = report(seeded, timeline, last, seconds, peak_kib, final_kib)
    path = write_results("memory_serve", figures)
    print(f"\nwritten {path}")
    assert failures == [], "the bot logged failures:\n" + "\n".join(failures[:20])
    assert by_status == seeded.expected.after_pass(), f"endpoints lost: {by_status}"


def report(
    seeded: world.Seeded,
    timeline: RssTimeline,
    last: dict[str, float],
    seconds: float,
    peak_kib: int,
    final_kib: int,
) -> dict[str, Any]:
    """Print the figures and the target; the JSON document."""
    passes = int(last.get(f"{PASSES_METRIC}_count", 0))
    pass_seconds = last.get(f"{PASSES_METRIC}_sum", 0.0)
    aws_calls = {
        key.split('operation="')[1].split('"')[0]: int(value)
        for key, value in last.items()
        if key.startswith("privatelink_aws_calls_total{")
    }
    transitions = int(
        sum(v for k, v in last.items() if k.startswith("privatelink_transitions_total{"))
    )
    met = peak_kib * 1024 < TARGET_BYTES
    print(f"\n== Memory of `python -m bot serve` with its worker, {seeded.expected.endpoints:,}")
    print(f"   endpoints over {seeded.expected.services} services in 3 regions ==")
    print(
        table(
            ("pass", "at s", "VmRSS MiB"),
            [(n, round(at, 1), round(rss / MIB, 1)) for n, at, rss in timeline.after_pass],
        )
    )
    print(
        table(
            ("figure", "value"),
            [
                ("RSS when /healthz first answered (MiB)", round(timeline.first_kib / MIB, 1)),
                ("RSS max sampled (MiB)", round(timeline.max_kib / MIB, 1)),
                ("peak RSS, VmHWM or max sampled (MiB)", round(peak_kib / MIB, 1)),
                ("peak RSS (MB)", round(peak_kib * 1024 / 1e6, 1)),
                ("RSS at the end (MiB)", round(final_kib / MIB, 1)),
                ("passes", passes),
                ("mean pass s", round(pass_seconds / passes, 3) if passes else "-"),
                ("transitions", transitions),
                ("watched s", round(seconds, 1)),
                ("AWS calls", ", ".join(f"{k}={v}" for k, v in sorted(aws_calls.items()))),
            ],
        )
    )
    mark = "met" if met else "MISSED"
    print(f"\nTarget\n  [{mark}] peak RSS of serve < 250 MB: {peak_kib * 1024 / 1e6:.1f} MB")
    return {
        "endpoints": seeded.expected.endpoints,
        "services": seeded.expected.services,
        "passes": passes,
        "mean_pass_seconds": pass_seconds / passes if passes else None,
        "transitions": transitions,
        "aws_calls": aws_calls,
        "peak_rss_mib": peak_kib / MIB,
        "peak_rss_mb": peak_kib * 1024 / 1e6,
        "first_rss_mib": timeline.first_kib / MIB,
        "final_rss_mib": final_kib / MIB,
        "rss_after_pass_mib": [
            {"pass": n, "at_s": at, "rss_mib": rss / MIB} for n, at, rss in timeline.after_pass
        ],
        "rss_samples_mib": [(round(at, 2), round(rss / MIB, 1)) for at, rss in timeline.samples],
        "target": {"peak_rss_below_mb": 250, "met": met},
    }


def probe(mode: str) -> dict[str, int]:
    """VmRSS (KiB) after serve's imports and after each region's EC2 client, in a new process."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks._memory_probe", mode, *PROBE_REGIONS],
        cwd=REPO_ROOT,
        env={**os.environ, **CONSUMER_KEYS, "AWS_DEFAULT_REGION": PROBE_REGIONS[0]},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


@pytest.mark.benchmark
def test_ec2_clients_memory_per_region() -> None:
    modes = {"worker": probe("worker"), "shared": probe("shared")}
    rows = []
    for index, region in enumerate(PROBE_REGIONS):
        before = PROBE_REGIONS[index - 1] if index else "imports"
        rows.append(
            (
                index + 1,
                region,
                *(
                    round((figures[region] - figures[before]) / MIB, 1)
                    for figures in modes.values()
                ),
                *(
                    round((figures[region] - figures["imports"]) / MIB, 1)
                    for figures in modes.values()
                ),
            )
        )
    print("\n== RSS of the worker's EC2 clients, one per region (fresh processes) ==")
    print(f"   after serve's imports: {modes['worker']['imports'] / MIB:.1f} MiB")
    print(
        table(
            (
                "regions",
                "region",
                "gateway_factory Δ MiB",
                "one session Δ MiB",
                "gateway_factory total MiB",
                "one session total MiB",
            ),
            rows,
        )
    )
    path = write_results(
        "memory_ec2_clients",
        {"regions": list(PROBE_REGIONS), "rss_kib": modes},
    )
    print(f"\nwritten {path}")
