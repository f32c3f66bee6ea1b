"""The stuck-endpoint reminder as processes: two `python -m bot worker` replicas on one Postgres,
BOT_STUCK_AFTER=2 read from their environment, remind each endpoint's creator once while it is
`initiating`, and once again when it is stuck `pending`; each reminder is posted once, in its
endpoint's thread, however many passes the two workers make meanwhile."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.domain.states import EndpointStatus, Stage
from bot.notices.endpoint_alerts import ENDPOINT_ALERT
from bot.storage.db import make_sessionmaker
from sandbox.slack_api import RunningStandIn, SlackStandIn, start
from tests.aws_fixtures import aws_url, local_aws_server  # noqa: F401 (fixtures)
from tests.conftest import POSTGRES_URL
from tests.worker._processes import (
    Estate,
    fleet,
    posts,
    seed_estate,
    thread_rows,
    wait_for,
    worker_env,
)

SITES, PER_SITE = 3, 2
ENDPOINTS = SITES * PER_SITE
STUCK_AFTER = 2.0
PHASE_TIMEOUT = 60.0

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


def told(estate: Estate) -> Counter[tuple[int | None, str]]:
    """Reminders queued, by (endpoint, status told of)."""
    return Counter(
        (row.private_endpoint_id, row.payload["endpoint"]["status"])
        for row in estate.outbox_rows()
        if row.kind == ENDPOINT_ALERT
    )


def test_two_workers_remind_each_endpoint_once_per_status(
    clean_database: str,
    db_engine: Engine,
    aws_url: str,  # noqa: F811
    standin: RunningStandIn,
    tmp_path: Path,
) -> None:
    estate = seed_estate(
        sessions=make_sessionmaker(db_engine),
        aws_url=aws_url,
        sites=SITES,
        endpoints_per_site=PER_SITE,
    )
    env = worker_env(
        database_url=clean_database,
        slack_api_url=standin.api_url,
        aws_url=aws_url,
        extra={"BOT_STUCK_AFTER": str(STUCK_AFTER)},
    )
    every = Counter({(e, "initiating"): 1 for e in estate.endpoint_ids})
    with fleet(env, tmp_path) as workers:
        first, second = workers.start("w1"), workers.start("w2")

        def wait(condition: Callable[[], bool], what: Callable[[], object]) -> None:
            wait_for(
                condition, timeout=PHASE_TIMEOUT, what=lambda: str(what()), check=workers.check
            )

        wait(lambda: estate.services() == {"active": SITES}, estate.services)
        time.sleep(STUCK_AFTER + 1)  # not configured for longer: that waits on nobody yet
        assert told(estate) == Counter()
        estate.submit_interfaces()
        wait(lambda: estate.granted() == SITES, estate.granted)  # one account per site
        wait(lambda: told(estate) == every, lambda: told(estate))
        estate.create_vpces()
        estate.submit_vpces()
        wait(
            lambda: estate.all_at(EndpointStatus.PENDING, Stage.ENABLE_PRIVATE_DNS),
            estate.endpoints,
        )
        every += Counter({(e, "pending"): 1 for e in estate.endpoint_ids})
        wait(lambda: told(estate) == every, lambda: told(estate))
        time.sleep(STUCK_AFTER + 1)  # more passes of both workers: nothing new
        wait(estate.drained, estate.outbox)
        codes = (first.terminate(), second.terminate())

    assert codes == (0, 0) and first.errors() + second.errors() == []
    assert told(estate) == every
    sent = posts(standin.standin)
    assert sent.duplicates == {} and sent.unmarked == 0
    reminders = {row.id for row in estate.outbox_rows() if row.kind == ENDPOINT_ALERT}
    assert reminders <= sent.steps("reply")
    for endpoint in estate.endpoint_rows():
        shown = thread_rows(standin.standin, endpoint)
        assert len([row for row in shown if row in reminders]) == 2
