"""Issue 14's "Duplicate Active alerts": a post whose outcome the sender cannot know (Slack
answers after the client's timeout, the connection is reset after the post was made, the worker
is SIGKILLed between post and save) is looked up by its metadata before any new try, and found,
not posted again: every post of every outbox row is in the channel exactly once. Slack's own
refusals need no lookup."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.transitions import EndpointEvent
from bot.slack.notifier import METADATA_EVENT_TYPE
from bot.storage.db import make_sessionmaker
from bot.worker.outbox import send_due
from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn, SlackStandIn, start
from tests.aws_fixtures import aws_url, local_aws_server  # noqa: F401 (fixtures)
from tests.conftest import POSTGRES_URL
from tests.worker._processes import fleet, posts, wait_for, worker_env
from tests.worker.test_outbox import (
    CHANNEL,
    FAST,
    TO_ACTIVE,
    alert_ts,
    drain,
    move,
    new_endpoint,
    pending,
    rows,
)

CLIENT_TIMEOUT = 0.5  # the bot's client gives up after this (10 s in production)
LOOKUPS = ("conversations.history", "conversations.replies")


@pytest.fixture
def sessions(clean_database: str, db_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(db_engine)


@pytest.fixture
def slack(running: RunningStandIn) -> SlackStandIn:
    return running.standin


@pytest.fixture
def impatient(running: RunningStandIn) -> WebClient:
    """The bot's Web API client with a short timeout, pointed at the stand-in."""
    return WebClient(token=DEFAULT_TOKEN, base_url=running.api_url, timeout=CLIENT_TIMEOUT)


def active_endpoint(sessions: sessionmaker[Session]) -> int:
    """A private endpoint taken to Active: six outbox rows, the last the Active alert."""
    endpoint_id = new_endpoint(sessions)
    for event, values in TO_ACTIVE:
        move(sessions, endpoint_id, event, **values)
    return endpoint_id


def lookups(slack: SlackStandIn) -> int:
    return sum(len(slack.calls(method)) for method in LOOKUPS)


def assert_each_post_once(slack: SlackStandIn, sessions: sessionmaker[Session]) -> None:
    """Every row is sent, its reply in the channel once, the thread's parent once, and the rows
    record the very messages Slack shows."""
    made = posts(slack)
    sent = rows(sessions)
    assert made.duplicates == {} and made.unmarked == 0
    assert made.steps("reply") == {r.id for r in sent}
    assert made.steps("parent") == {sent[0].id}
    assert all(r.sent_at is not None and r.post_started_at is None for r in sent)
    parent_ts = sent[0].parent_ts
    assert parent_ts is not None and {r.parent_ts for r in sent} == {parent_ts}
    thread = slack.replies(CHANNEL, parent_ts)
    assert [m["ts"] for m in thread] == [r.reply_ts for r in sent]
    assert [m["metadata"]["event_payload"]["outbox_id"] for m in thread] == [r.id for r in sent]


def test_posts_answered_after_the_client_timeout_are_found_not_repeated(
    sessions: sessionmaker[Session], impatient: WebClient, slack: SlackStandIn
) -> None:
    endpoint_id = active_endpoint(sessions)
    slack.answer_late("chat.postMessage", seconds=CLIENT_TIMEOUT + 0.5, times=100)

    report = drain(sessions, impatient, timeout=60)

    assert_each_post_once(slack, sessions)
    assert report.retried == 7 and report.sent == 6 and report.dead == 0  # 1 parent, 6 replies
    assert len(slack.calls("conversations.history")) == 1
    assert len(slack.calls("conversations.replies")) == 6
    parent_ts = rows(sessions)[0].parent_ts
    assert alert_ts(sessions, endpoint_id) == parent_ts
    broadcasts = [m for m in slack.messages(CHANNEL) if m.get("subtype") == "thread_broadcast"]
    assert len(broadcasts) == 1 and "is active" in broadcasts[0]["text"]


def test_posts_whose_connection_was_reset_are_found_not_repeated(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    active_endpoint(sessions)
    slack.drop_answer("chat.postMessage", times=3)  # the parent and the first two replies

    report = drain(sessions, client)

    assert_each_post_once(slack, sessions)
    assert report.retried == 3 and report.sent == 6
    assert lookups(slack) == 3


def test_a_failed_lookup_posts_nothing_and_is_tried_again(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    new_endpoint(sessions)
    slack.drop_answer("chat.postMessage")
    assert send_due(sessions=sessions, client=client, policy=FAST).retried == 1
    (row,) = rows(sessions)
    assert row.post_started_at is not None and row.parent_ts is None
    slack.drop_answer("conversations.history")  # the lookup's own answer is lost
    slack.fail_next("conversations.history", error="internal_error", status=500)

    for _ in range(2):
        time.sleep(FAST.backoff(row.attempts + 1) + 0.3)
        report = send_due(sessions=sessions, client=client, policy=FAST)
        assert report.retried == 1 and report.sent == 0
        (row,) = rows(sessions)
        assert row.post_started_at is not None and row.parent_ts is None
    assert sum(posts(slack).by_step.values()) == 1, "no post while Slack could not be asked"
    drain(sessions, client)

    assert_each_post_once(slack, sessions)
    assert len(slack.calls("conversations.history")) == 3


def until_a_post(sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn) -> int:
    """Run passes until the sender calls chat.postMessage once more; the retries they counted."""
    before, retried = len(slack.calls("chat.postMessage")), 0
    deadline = time.monotonic() + 10
    while len(slack.calls("chat.postMessage")) == before:
        assert time.monotonic() < deadline, "no post was tried"
        report = send_due(sessions=sessions, client=client, policy=FAST)
        retried += report.retried + report.rate_limited
        time.sleep(0.05)
    return retried


@pytest.mark.parametrize(
    ("fault", "error"),
    [("ratelimit", "ratelimited"), ("error", "invalid_blocks"), ("error", "channel_not_found")],
)
def test_a_refusal_from_slack_needs_no_lookup(
    sessions: sessionmaker[Session],
    client: WebClient,
    slack: SlackStandIn,
    fault: str,
    error: str,
) -> None:
    endpoint_id = new_endpoint(sessions)
    move(sessions, endpoint_id, EndpointEvent.INTERFACE_SUBMITTED, vpc_id="vpc-01234567")
    for step in ("parent", "reply"):
        if fault == "ratelimit":
            slack.rate_limit_next("chat.postMessage")
        else:
            slack.fail_next("chat.postMessage", error=error)
        assert until_a_post(sessions, client, slack) == 1, f"the {step} post was refused"
        assert all(r.post_started_at is None for r in rows(sessions))
        until_a_post(sessions, client, slack)  # the post made, this time
    drain(sessions, client, timeout=30)

    assert lookups(slack) == 0
    assert [c.ok for c in slack.calls("chat.postMessage")] == [False, True, False, True, True]
    assert_each_post_once(slack, sessions)


def test_an_internal_error_is_looked_up_once_then_posted(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    new_endpoint(sessions)
    # Slack: "It's possible some aspect of the operation succeeded before the error was raised."
    slack.fail_next("chat.postMessage", error="internal_error")

    report = drain(sessions, client)

    assert report.retried == 1 and report.sent == 1
    assert len(slack.calls("conversations.history")) == 1
    assert_each_post_once(slack, sessions)


# --- a worker process killed between a post and its save ------------------------------------


@pytest.fixture(name="standin")
def standin_fixture() -> Iterator[RunningStandIn]:
    """The Slack stand-in over HTTP, in this process, for worker processes to post to."""
    _, running = start(SlackStandIn(trigger_ttl=None))
    yield running
    running.stop()


@pytest.mark.skipif(
    not POSTGRES_URL,
    reason="a worker process and this test share one database, which needs Postgres: "
    "set TEST_DATABASE_URL (CI always does)",
)
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_active_alert_in_flight_when_its_worker_is_killed_is_found_not_repeated(
    clean_database: str,
    db_engine: Engine,
    standin: RunningStandIn,
    aws_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    sessions = make_sessionmaker(db_engine)
    client = WebClient(token=DEFAULT_TOKEN, base_url=standin.api_url)
    endpoint_id = new_endpoint(sessions)
    for event, values in TO_ACTIVE[:-1]:
        move(sessions, endpoint_id, event, **values)
    drain(sessions, client)
    move(sessions, endpoint_id, EndpointEvent.CONNECTION_AVAILABLE)  # the Active alert
    slack = standin.standin
    before = len(slack.calls("chat.postMessage"))
    slack.answer_late("chat.postMessage", seconds=8.0)  # made at once, answered too late
    env = worker_env(database_url=clean_database, slack_api_url=standin.api_url, aws_url=aws_url)

    with fleet(env, tmp_path) as workers:
        first = workers.start("w1")
        slack.wait_for("chat.postMessage", count=before + 1, timeout=60)
        first.kill()  # after Slack made the post, before the worker could save it
        active = rows(sessions)[-1]
        assert active.sent_at is None and active.reply_ts is None
        assert active.post_started_at is not None and active.claimed_by is not None
        second = workers.start("w2")  # it takes the row over once w1's lease (15 s) ends
        wait_for(
            lambda: pending(sessions) == 0,
            timeout=60,
            what=lambda: f"{pending(sessions)} rows unsent",
            check=workers.check,
        )
        assert second.terminate() == 0, second.logs()[-3000:]

    assert first.errors() + second.errors() == []
    assert "found in Slack" in second.logs()
    assert len(slack.calls("conversations.replies")) == 1
    assert_each_post_once(slack, sessions)
    alert = slack.message(CHANNEL, rows(sessions)[-1].reply_ts or "")
    assert alert is not None and alert["metadata"]["event_type"] == METADATA_EVENT_TYPE
    assert alert["subtype"] == "thread_broadcast" and "is active" in alert["text"]
