"""Alert delivery: many private endpoints turn Active at once under Slack's posting rate limit.

The endpoints wait at `pending` with no channel message yet; one transaction moves them all
to `active` (CONNECTION_AVAILABLE, through `bot.services.changes.apply`), which queues one
outbox row each: a parent message and its broadcast Active reply, two posts. The outbox sender
(`run_forever`, the default SendPolicy) sends them to the Slack stand-in over HTTP while the
stand-in holds every channel to one `chat.postMessage` per second, answering `429` with
`Retry-After` beyond it. Two scenarios: every endpoint in one channel, then the same number
spread over several channels (each limited on its own, so throughput should scale).

Fails on a lost message (a row not sent, or an endpoint without its parent and Active reply)
and on a duplicate (a post made twice for one row and step, counted at the stand-in from the
metadata the bot attaches). `BENCH_ALERTS` (default 500, as the issue asks) sets the endpoints
per scenario, `BENCH_ALERT_CHANNELS` (default 6) the channels of the spread scenario. Each
channel takes two seconds per endpoint at best: 500 endpoints in one channel need about 17
minutes (`BENCH_ALERTS=60` for a two-minute run).
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.states import Cloud, ClusterStatus, EndpointStatus, Stage, Tier
from bot.domain.transitions import EndpointEvent
from bot.services import changes
from bot.storage import cluster_queries, event_log, orm, project_queries
from bot.storage.db import make_engine, make_sessionmaker, transaction
from bot.worker.outbox import DEFAULT_POLICY, run_forever
from sandbox.slack_api import DEFAULT_TOKEN, Call, SlackStandIn, start
from tests.benchmarks._db import scratch_database
from tests.benchmarks._report import percentile, table, write_results

ALERTS = int(os.environ.get("BENCH_ALERTS", "500"))
SPREAD_CHANNELS = int(os.environ.get("BENCH_ALERT_CHANNELS", "6"))
RATE_PER_SECOND = 1.0
POSTS_PER_ALERT = 2  # the parent message, then the Active reply in its thread
SENDER_INTERVAL = 1.0  # run_forever's default
OWNER = "U0OWNER01"
POLL_SECONDS = 0.25
STEPS = ("parent", "reply")  # the steps named in each post's metadata


@dataclass(frozen=True)
class Scenario:
    name: str
    channels: int


SCENARIOS = [Scenario("one_channel", 1), Scenario(f"{SPREAD_CHANNELS}_channels", SPREAD_CHANNELS)]


def channel_id(index: int) -> str:
    return f"C0ALERTS{index:02d}"


def seed_pending(sessions: sessionmaker[Session], *, endpoints: int, channels: int) -> list[int]:
    """`endpoints` private endpoints at `pending`, dealt over `channels` projects' channels."""
    ids: list[int] = []
    with transaction(sessions) as session:
        clusters = []
        for index in range(channels):
            project = project_queries.create_project(
                session=session,
                name=f"alerts-{index}",
                channel_id=channel_id(index),
                team_id="T0001",
                owners=[OWNER],
            )
            clusters.append(
                cluster_queries.create_cluster(
                    session=session,
                    project_id=project.id,
                    name=f"db-{index}",
                    tier=Tier.DEDICATED,
                    cloud=Cloud.AWS,
                    region="us-west-2",
                    status=ClusterStatus.ACTIVE,
                    nlb_arn=None,
                    port=4000,
                    private_dns_host=f"db-{index}.us-west-2.privatelink.example.com",
                )
            )
        for n in range(endpoints):
            cluster = clusters[n % channels]
            endpoint = orm.PrivateEndpoint(
                project_id=cluster.project_id,
                cluster_id=cluster.id,
                stage=Stage.DONE,
                status=EndpointStatus.PENDING,
                created_by=OWNER,
                channel_id=channel_id(n % channels),
                account_id="123456789012",
                vpc_id=f"vpc-{n + 1:017x}",
                subnet_ids=["subnet-0123456789abcdef0"],
                vpce_id=f"vpce-{n + 1:017x}",
            )
            session.add(endpoint)
            session.flush()
            ids.append(endpoint.id)
    return ids


def turn_active(sessions: sessionmaker[Session], endpoint_ids: list[int]) -> None:
    """AWS reports every connection available: one transaction, one outbox row each."""
    with transaction(sessions) as session:
        for endpoint_id in endpoint_ids:
            endpoint = session.get(orm.PrivateEndpoint, endpoint_id)
            assert endpoint is not None
            changes.apply(
                session=session,
                endpoint=endpoint,
                event=EndpointEvent.CONNECTION_AVAILABLE,
                actor=event_log.SYSTEM_ACTOR,
            )


def unsent(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        query = select(func.count()).where(
            orm.Outbox.sent_at.is_(None), orm.Outbox.dead_at.is_(None)
        )
        return session.scalar(query) or 0


@contextmanager
def sender(sessions: sessionmaker[Session], client: WebClient) -> Iterator[None]:
    """The outbox sender in a thread, as the worker runs it; stopped on exit."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever,
        kwargs={
            "sessions": sessions,
            "client": client,
            "stop_event": stop,
            "interval": SENDER_INTERVAL,
            "policy": DEFAULT_POLICY,
        },
        name="outbox-sender",
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive(), "the sender did not stop"


def _payload(call: Call) -> dict[str, Any]:
    payload: dict[str, Any] = call.args["metadata"]["event_payload"]
    return payload


def run_scenario(scenario: Scenario, folder: Path) -> dict[str, Any]:
    """Seed, turn every endpoint Active, send until nothing is left; the figures."""
    folder.mkdir()
    with scratch_database("sqlite", folder) as url:
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        _, running = start(SlackStandIn(trigger_ttl=None))
        try:
            running.standin.limit_rate(per_second=RATE_PER_SECOND)
            client = WebClient(token=DEFAULT_TOKEN, base_url=running.api_url)
            ids = seed_pending(sessions, endpoints=ALERTS, channels=scenario.channels)
            ideal = max(Counter(i % scenario.channels for i in range(ALERTS)).values())
            ideal_seconds = ideal * POSTS_PER_ALERT / RATE_PER_SECOND
            deadline_seconds = ideal_seconds * 3 + 60
            turn_active(sessions, ids)
            started = time.time()
            with sender(sessions, client):
                while unsent(sessions) and time.time() - started < deadline_seconds:
                    time.sleep(POLL_SECONDS)
            drained = time.time() - started
            calls = running.standin.calls("chat.postMessage")
            with sessions() as session:
                rows = list(session.scalars(select(orm.Outbox).order_by(orm.Outbox.id)))
        finally:
            running.stop()
            engine.dispose()
    return figures_of(
        scenario, ids, rows, calls, started=started, drained=drained, ideal=ideal_seconds
    )


def figures_of(
    scenario: Scenario,
    endpoint_ids: list[int],
    rows: list[orm.Outbox],
    calls: list[Call],
    *,
    started: float,
    drained: float,
    ideal: float,
) -> dict[str, Any]:
    """What reached the stand-in, against what the outbox says it sent."""
    posts = [c for c in calls if c.ok]
    limited = [c for c in calls if c.status == 429]
    per_step = Counter((_payload(c)["outbox_id"], _payload(c)["step"]) for c in posts)
    duplicates = sum(n - 1 for n in per_step.values() if n > 1)
    # No endpoint had a message: each row must post its parent, then its reply in the thread.
    not_sent = {r.id for r in rows if r.sent_at is None or r.dead_at is not None}
    missing = {r.id for r in rows for step in STEPS if per_step[(r.id, step)] == 0}
    lost = len(not_sent | missing) + max(0, len(endpoint_ids) - len(rows))
    by_channel: dict[str, list[float]] = defaultdict(list)
    for call in posts:
        by_channel[str(call.args["channel"])].append(call.at)
    gaps = [b - a for times in by_channel.values() for a, b in zip(times, times[1:], strict=False)]
    last_post = max((c.at for c in posts), default=started)
    delivery = last_post - started
    return {
        "scenario": scenario.name,
        "channels": scenario.channels,
        "endpoints": len(endpoint_ids),
        "outbox_rows": len(rows),
        "posts": len(posts),
        "delivery_seconds": round(delivery, 2),
        "drained_seconds": round(drained, 2),
        "ideal_seconds": ideal,
        "delivery_over_ideal": round(delivery / ideal, 3) if ideal else None,
        "posts_per_second": round(len(posts) / delivery, 3) if delivery > 0 else None,
        "first_post_after_seconds": round(min((c.at for c in posts), default=started) - started, 3),
        "lost": lost,
        "duplicates": duplicates,
        "responses_429": len(limited),
        "gap_seconds": {
            "mean": round(sum(gaps) / len(gaps), 3) if gaps else None,
            "min": round(min(gaps), 3) if gaps else None,
            "p50": round(percentile(gaps, 50), 3) if gaps else None,
            "p95": round(percentile(gaps, 95), 3) if gaps else None,
            "max": round(max(gaps), 3) if gaps else None,
        },
        "mean_gap_over_limit_seconds": (
            round(sum(gaps) / len(gaps) - 1 / RATE_PER_SECOND, 3) if gaps else None
        ),
        "dead_rows": sum(1 for r in rows if r.dead_at is not None),
        "attempts_after_errors": sum(r.attempts for r in rows),
    }


@pytest.mark.benchmark
def test_alert_delivery(tmp_path: Path) -> None:
    results = [run_scenario(s, tmp_path / s.name) for s in SCENARIOS]
    print(
        f"\nAlert delivery: {ALERTS} endpoints turn Active at once; the stand-in allows "
        f"{RATE_PER_SECOND:g} post/s per channel (429 + Retry-After beyond)"
    )
    header = (
        "scenario",
        "posts",
        "delivered s",
        "ideal s",
        "×ideal",
        "posts/s",
        "429s",
        "gap mean",
        "gap min",
        "gap max",
        "lost",
        "dupes",
    )
    rows = [
        (
            r["scenario"],
            r["posts"],
            r["delivery_seconds"],
            r["ideal_seconds"],
            r["delivery_over_ideal"],
            r["posts_per_second"],
            r["responses_429"],
            r["gap_seconds"]["mean"],
            r["gap_seconds"]["min"],
            r["gap_seconds"]["max"],
            r["lost"],
            r["duplicates"],
        )
        for r in results
    ]
    print(table(header, rows))
    path = write_results(
        "alert_delivery",
        {
            "endpoints_per_scenario": ALERTS,
            "rate_limit_per_channel_per_second": RATE_PER_SECOND,
            "posts_per_endpoint": POSTS_PER_ALERT,
            "sender": {"interval": SENDER_INTERVAL, "policy": asdict(DEFAULT_POLICY)},
            "scenarios": results,
        },
    )
    print(f"figures written to {path}")
    for r in results:
        assert r["lost"] == 0, f"{r['scenario']}: {r['lost']} message(s) lost"
        assert r["duplicates"] == 0, f"{r['scenario']}: {r['duplicates']} duplicate post(s)"
