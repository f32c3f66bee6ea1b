"""Issue 5's acceptance, as processes: `python -m bot worker` replicas on one Postgres take 50
private endpoints through the wizard's AWS steps (services created, accounts allowed,
connections accepted, endpoints activated) against the local AWS, served over HTTP by this
process, and post their channel threads to the Slack stand-in. Every AWS mutation and every
post is made once; with a worker SIGKILLed mid-pass, nothing is lost and at most the one
Slack call in flight is repeated.

The 50 endpoints are spread over 25 projects (two each, one cluster per project), not put in
one project: the outbox keeps Slack's pace of one post per second per channel
(`SendPolicy.spacing`), and one channel would take 50 × 7 posts, about six minutes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.aws.privatelink import PrivateLinkGateway
from bot.domain.states import EndpointStatus, Stage
from bot.storage.db import make_sessionmaker
from sandbox.aws import call_count, provider_credentials
from sandbox.slack_api import RunningStandIn, SlackStandIn, start
from tests.aws_fixtures import REGION, aws_url, ec2_client, local_aws_server  # noqa: F401 (fixtures)
from tests.conftest import POSTGRES_URL
from tests.worker._processes import (
    MUTATIONS,
    Estate,
    Fleet,
    WorkerProcess,
    fleet,
    posts,
    seed_estate,
    thread_rows,
    wait_for,
    watch_claims,
    worker_env,
)

SITES, PER_SITE = 25, 2
ENDPOINTS = SITES * PER_SITE
ACCEPT = "AcceptVpcEndpointConnections"
EXPECTED_MUTATIONS = {
    "CreateVpcEndpointServiceConfiguration": SITES,  # one service per cluster
    "ModifyVpcEndpointServicePermissions": SITES,  # one account per site
    ACCEPT: SITES,  # one batched call per service
    "RejectVpcEndpointConnections": 0,
    "DeleteVpcEndpointServiceConfigurations": 0,
    "StartVpcEndpointServicePrivateDnsVerification": 0,
}
KILL_AFTER_ACCEPTS = 5  # of 25 in the pass: some units saved, one maybe accepted but unsaved
PHASE_TIMEOUT = 40.0

pytestmark = [
    pytest.mark.skipif(
        not POSTGRES_URL,
        reason="several worker processes share one database, which needs Postgres: "
        "set TEST_DATABASE_URL (CI always does)",
    ),
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]


@pytest.fixture(name="standin")
def standin_fixture() -> Iterator[RunningStandIn]:
    """The Slack stand-in over HTTP, in this process."""
    _, running = start(SlackStandIn(trigger_ttl=None))
    yield running
    running.stop()


@pytest.fixture(name="estate")
def estate_fixture(clean_database: str, db_engine: Engine, aws_url: str) -> Estate:  # noqa: F811
    """25 projects with a cluster and two new private endpoints each, 50 consumer accounts."""
    return seed_estate(
        sessions=make_sessionmaker(db_engine),
        aws_url=aws_url,
        sites=SITES,
        endpoints_per_site=PER_SITE,
    )


def env_for(database: str, standin: RunningStandIn, aws: str, **extra: str) -> dict[str, str]:
    """The workers' environment."""
    return worker_env(
        database_url=database, slack_api_url=standin.api_url, aws_url=aws, extra=extra
    )


def run_flow(
    estate: Estate, workers: Fleet, *, during_accepts: Callable[[], None] | None = None
) -> dict[str, float]:
    """The owners take every endpoint through the wizard while the workers run; the seconds
    each phase waited for the workers."""

    def wait(condition: Callable[[], bool], what: Callable[[], object]) -> float:
        waited = wait_for(
            condition, timeout=PHASE_TIMEOUT, what=lambda: str(what()), check=workers.check
        )
        return round(waited, 1)

    waited = {
        "services": wait(lambda: estate.services() == {"active": SITES}, estate.services),
    }
    estate.submit_interfaces()
    waited["grants"] = wait(lambda: estate.granted() == SITES, estate.granted)
    estate.create_vpces()
    waited["suggestions"] = wait(estate.suggested, estate.endpoints)
    estate.submit_vpces()
    if during_accepts is not None:
        during_accepts()
    waited["accepts"] = wait(
        lambda: estate.all_at(EndpointStatus.PENDING, Stage.ENABLE_PRIVATE_DNS), estate.endpoints
    )
    estate.submit_creates()
    waited["active"] = wait(
        lambda: estate.all_at(EndpointStatus.ACTIVE, Stage.DONE), estate.endpoints
    )
    waited["outbox"] = wait(estate.drained, estate.outbox)
    return waited


def mutations() -> dict[str, int]:
    """The local AWS's count of each mutating EC2 action."""
    return {action: call_count(action=action) for action in MUTATIONS}


def assert_nothing_lost(estate: Estate, aws: str) -> None:
    """Every endpoint is active on its own vpce, accepted once, AWS agrees, the outbox is sent."""
    rows = estate.endpoint_rows()
    assert {r.id: (r.status, r.stage, r.vpce_id) for r in rows} == {
        e: (EndpointStatus.ACTIVE, Stage.DONE, estate.vpces[e]) for e in estate.endpoint_ids
    }
    assert estate.accepted_events() == Counter(estate.endpoint_ids)
    gateway = PrivateLinkGateway(ec2_client(provider_credentials(), aws, region=REGION))
    seen = {c.vpce_id: (c.state, c.owner_account) for c in gateway.list_connections()}
    assert seen == {
        estate.vpces[e]: ("available", estate.consumers[e].account_id) for e in estate.endpoint_ids
    }
    assert estate.outbox() == {"sent": len(estate.outbox_rows())}


def test_two_workers_make_each_aws_mutation_and_each_post_once(
    estate: Estate,
    standin: RunningStandIn,
    clean_database: str,
    aws_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    with (
        fleet(env_for(clean_database, standin, aws_url), tmp_path) as workers,
        watch_claims(estate.sessions) as claims,
    ):
        first, second = workers.start("w1"), workers.start("w2")
        waited = run_flow(estate, workers)
        codes = (first.terminate(), second.terminate())
    elapsed = time.monotonic() - started
    sent = posts(standin.standin)
    pids = (first.process.pid, second.process.pid)
    print(
        f"\n{ENDPOINTS} endpoints, 2 workers: {elapsed:.1f}s; waited {waited}; "
        f"AWS mutations {mutations()}; endpoint transitions by worker "
        f"{first.transitions()}/{second.transitions()}; claim samples by worker: services "
        f"{[claims.services[p] for p in pids]}, outbox {[claims.outbox[p] for p in pids]}; "
        f"posts {sum(sent.by_step.values())}, updates {sent.updates}"
    )

    assert codes == (0, 0), first.logs()[-2000:] + second.logs()[-2000:]
    assert first.errors() + second.errors() == []
    assert mutations() == EXPECTED_MUTATIONS
    assert_nothing_lost(estate, aws_url)
    assert first.transitions() + second.transitions() == 2 * ENDPOINTS  # accepted, available
    rows = estate.outbox_rows()
    assert sent.duplicates == {} and sent.unmarked == 0
    assert sent.steps("reply") == {r.id for r in rows}
    assert len(sent.steps("parent")) == len({(r.channel_id, r.thread_key) for r in rows})
    for endpoint in estate.endpoint_rows():
        expected = [r.id for r in rows if r.private_endpoint_id == endpoint.id]
        assert thread_rows(standin.standin, endpoint) == expected


def test_a_worker_killed_mid_pass_loses_nothing_and_repeats_no_mutation(
    estate: Estate,
    standin: RunningStandIn,
    clean_database: str,
    aws_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    # BOT_RECONCILE_INTERVAL=0.5 (env_for) makes the leases 10 s and 15 s: the successor
    # takes over the killed worker's claims that soon (bot.worker.runner.policies)
    env = env_for(clean_database, standin, aws_url)
    at_kill: dict[str, int] = {}
    successors: list[WorkerProcess] = []
    with fleet(env, tmp_path) as workers:
        first = workers.start("w1")

        def kill_while_accepting() -> None:
            wait_for(
                lambda: call_count(action=ACCEPT) >= KILL_AFTER_ACCEPTS,
                timeout=PHASE_TIMEOUT,
                what=lambda: f"{KILL_AFTER_ACCEPTS} accepts",
                check=workers.check,
                poll=0.002,
            )
            first.kill()
            at_kill["accepts"] = call_count(action=ACCEPT)
            at_kill["services held"], at_kill["outbox rows held"] = estate.held_by(
                first.process.pid
            )
            successors.append(workers.start("w2"))

        waited = run_flow(estate, workers, during_accepts=kill_while_accepting)
        [second] = successors
        code = second.terminate()
    sent = posts(standin.standin)
    print(
        f"\nSIGKILL at {at_kill}; waited {waited}; AWS mutations {mutations()}; endpoint "
        f"transitions w1 {first.transitions()}, w2 {second.transitions()}; posts "
        f"{sum(sent.by_step.values())}, repeated {sent.duplicates}"
    )

    assert code == 0, second.logs()[-3000:]
    assert first.errors() + second.errors() == []
    assert at_kill["accepts"] < SITES, "the pass had ended: the worker was not killed mid-pass"
    assert at_kill["services held"] > 0  # the successor waited for the killed worker's lease
    # The successor reads the connections the killed worker accepted (saved or not) as
    # `pending` or `available` and records them accepted without a call: no accept repeated.
    assert mutations() == EXPECTED_MUTATIONS
    assert_nothing_lost(estate, aws_url)
    rows = estate.outbox_rows()
    assert sent.steps("reply") == {r.id for r in rows} and sent.unmarked == 0
    # The one window: a post made whose ts the killed worker had not yet committed.
    assert len(sent.duplicates) <= 1 and set(sent.duplicates.values()) <= {2}
    for endpoint in estate.endpoint_rows():
        expected = [r.id for r in rows if r.private_endpoint_id == endpoint.id]
        assert list(dict.fromkeys(thread_rows(standin.standin, endpoint))) == expected
