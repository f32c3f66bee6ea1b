"""The outbox sender over the local Slack stand-in (HTTP) and SQLite/Postgres."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.states import Cloud, ClusterStatus, EndpointStatus, Stage, Tier
from bot.domain.transitions import EndpointEvent
from bot.services import changes
from bot.slack.ids import ActionId, BlockId
from bot.slack.metadata import EndpointRef
from bot.storage import cluster_queries, endpoint_queries, orm, project_queries
from bot.storage.db import make_sessionmaker, transaction
from bot.storage.types import utcnow
from bot.worker.outbox import SendPolicy, SendReport, pause_after, run_forever, send_due
from sandbox.slack_api import DEFAULT_TOKEN, Call, RunningStandIn, SlackStandIn

CHANNEL = "C0PAYMENTS"
OWNER = "U0OWNER1"
FAST = SendPolicy(spacing=0.0, backoff_base=0.2)
TO_ACTIVE: list[tuple[EndpointEvent, dict[str, Any]]] = [
    (EndpointEvent.INTERFACE_SUBMITTED, {"vpc_id": "vpc-0123456789abcdef0"}),
    (EndpointEvent.VPCE_SUBMITTED, {"vpce_id": "vpce-0123456789abcdef0"}),
    (EndpointEvent.CONNECTION_ACCEPTED, {}),
    (EndpointEvent.CREATE_SUBMITTED, {}),
    (EndpointEvent.CONNECTION_AVAILABLE, {}),
]


class Crash(BaseException):
    """The worker process dies here (not an Exception: nothing may catch it)."""


@pytest.fixture
def sessions(clean_database: str, db_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(db_engine)


@pytest.fixture
def slack(running: RunningStandIn) -> SlackStandIn:
    return running.standin


def new_endpoint(
    sessions: sessionmaker[Session], *, channel: str = CHANNEL, name: str = "orders"
) -> int:
    """A project for `channel` (made once), a cluster `name` and a new private endpoint on it."""
    with transaction(sessions) as session:
        project = project_queries.get_project_by_channel(session=session, channel_id=channel)
        if project is None:
            project = project_queries.create_project(
                session=session, name=channel.lower(), channel_id=channel, team_id="T1", owners=[]
            )
        cluster = cluster_queries.create_cluster(
            session=session,
            project_id=project.id,
            name=name,
            tier=Tier.DEDICATED,
            cloud=Cloud.AWS,
            region="us-west-2",
            status=ClusterStatus.ACTIVE,
            nlb_arn=None,
            port=4000,
            private_dns_host=f"{name}.us-west-2.privatelink.example.com",
        )
        endpoint = orm.PrivateEndpoint(
            project_id=project.id,
            cluster_id=cluster.id,
            stage=Stage.INTERFACE_ENDPOINT,
            status=EndpointStatus.NOT_CONFIGURED,
            created_by=OWNER,
            channel_id=channel,
        )
        changes.created(session=session, endpoint=endpoint, actor=OWNER)
        return endpoint.id


def move(
    sessions: sessionmaker[Session], endpoint_id: int, event: EndpointEvent, **values: Any
) -> None:
    with transaction(sessions) as session:
        endpoint = session.get(orm.PrivateEndpoint, endpoint_id)
        assert endpoint is not None
        for name, value in values.items():
            setattr(endpoint, name, value)
        changes.apply(session=session, endpoint=endpoint, event=event, actor=OWNER)


def rows(sessions: sessionmaker[Session]) -> list[orm.Outbox]:
    with sessions() as session:
        return list(session.scalars(select(orm.Outbox).order_by(orm.Outbox.id)))


def pending(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        query = select(func.count()).where(
            orm.Outbox.sent_at.is_(None), orm.Outbox.dead_at.is_(None)
        )
        return session.scalar(query) or 0


def alert_ts(sessions: sessionmaker[Session], endpoint_id: int) -> str | None:
    with sessions() as session:
        endpoint = session.get(orm.PrivateEndpoint, endpoint_id)
        return None if endpoint is None else endpoint.alert_ts


def drain(
    sessions: sessionmaker[Session],
    client: WebClient,
    *,
    policy: SendPolicy = FAST,
    worker_id: str = "worker-a",
    timeout: float = 20.0,
) -> SendReport:
    """Run passes until nothing is pending; the passes' counts summed."""
    total = SendReport()
    deadline = time.monotonic() + timeout
    while pending(sessions):
        assert time.monotonic() < deadline, "the outbox did not drain"
        report = send_due(sessions=sessions, client=client, policy=policy, worker_id=worker_id)
        for name in ("claimed", "sent", "retried", "rate_limited", "dead", "deferred", "lost"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
        time.sleep(pause_after(report, interval=0.05, batch=policy.batch))
    return total


def posts(slack: SlackStandIn, *, top_level: bool | None = None) -> list[Call]:
    """Successful chat.postMessage calls (only parents, or only replies, if asked)."""
    found = [c for c in slack.calls("chat.postMessage") if c.ok]
    if top_level is None:
        return found
    return [c for c in found if ("thread_ts" not in c.args) == top_level]


def outbox_ids(calls: list[Call]) -> list[int]:
    return [c.args["metadata"]["event_payload"]["outbox_id"] for c in calls]


def test_parent_posted_once_updated_in_place_history_in_thread(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    endpoint_id = new_endpoint(sessions)
    for event, values in TO_ACTIVE:
        move(sessions, endpoint_id, event, **values)
    report = drain(sessions, client)

    assert report.sent == 6 and report.dead == report.retried == 0
    (parent,) = posts(slack, top_level=True)
    ts = parent.response["ts"]
    assert alert_ts(sessions, endpoint_id) == ts
    assert len([c for c in slack.calls("chat.update") if c.ok]) == 5
    message = slack.message(CHANNEL, ts)
    assert message is not None and message["text"].endswith(": active")
    assert "Active" in str(message["blocks"])
    thread = slack.replies(CHANNEL, ts)
    assert [r["text"] for r in thread[:-1]] == [r.payload["text"] for r in rows(sessions)][:-1]
    assert "started a private endpoint" in thread[0]["text"]
    active = thread[-1]
    assert active["subtype"] == "thread_broadcast" and "is active" in active["text"]
    assert "jdbc:mysql://orders.us-west-2.privatelink.example.com:4000" in str(active["blocks"])
    assert [m["ts"] for m in slack.messages(CHANNEL)] == [ts, active["ts"]]
    assert all(r.sent_at and r.parent_ts == ts and r.reply_ts for r in rows(sessions))


def test_failed_reply_is_broadcast_with_a_retry_button(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    endpoint_id = new_endpoint(sessions)
    move(sessions, endpoint_id, EndpointEvent.INTERFACE_SUBMITTED, vpc_id="vpc-01234567")
    move(
        sessions,
        endpoint_id,
        EndpointEvent.STEP_FAILED,
        failure_reason="The subnet's Availability Zone is not supported",
    )
    drain(sessions, client)

    parent, failed = slack.messages(CHANNEL)
    assert ":red_circle: Failed" in str(parent["blocks"])
    assert failed["subtype"] == "thread_broadcast" and failed["thread_ts"] == parent["ts"]
    assert "not supported" in failed["text"]
    (buttons,) = [b for b in failed["blocks"] if b.get("block_id") == BlockId.FAILED_ACTIONS]
    (retry,) = buttons["elements"]
    assert retry["action_id"] == ActionId.RETRY
    assert EndpointRef.model_validate_json(retry["value"]).endpoint_id == endpoint_id
    assert len(slack.replies(CHANNEL, parent["ts"])) == 3


def test_a_deleted_endpoint_updates_its_parent_found_on_the_outbox(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    endpoint_id = new_endpoint(sessions)
    drain(sessions, client)
    move(sessions, endpoint_id, EndpointEvent.TERMINATE)
    move(sessions, endpoint_id, EndpointEvent.REMOVED)
    with transaction(sessions) as session:
        endpoint = session.get(orm.PrivateEndpoint, endpoint_id)
        assert endpoint is not None
        endpoint_queries.delete_endpoint(session=session, endpoint=endpoint)
    drain(sessions, client)

    (parent,) = slack.messages(CHANNEL)
    assert parent["text"].endswith(": deleted") and "was deleted" in str(parent["blocks"])
    assert len(posts(slack, top_level=True)) == 1
    assert len(slack.replies(CHANNEL, parent["ts"])) == 3


def test_rate_limited_posts_arrive_later_in_order_and_once(
    sessions: sessionmaker[Session], running: RunningStandIn, slack: SlackStandIn
) -> None:
    first, second = new_endpoint(sessions), new_endpoint(sessions, name="ledger")
    move(sessions, first, EndpointEvent.INTERFACE_SUBMITTED, vpc_id="vpc-01234567")
    move(sessions, second, EndpointEvent.INTERFACE_SUBMITTED, vpc_id="vpc-89abcdef")
    move(sessions, first, EndpointEvent.TERMINATE)
    slack.rate_limit_for("chat.postMessage", seconds=1.5)
    # A client that would sleep and retry 429s by itself: the sender must not let it.
    client = WebClient(
        token=DEFAULT_TOKEN,
        base_url=running.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=5)],
    )
    started = time.monotonic()
    report = send_due(sessions=sessions, client=client, policy=FAST)
    assert report.rate_limited == 1 and report.sent == 0
    assert time.monotonic() - started < 1.0, "no sleeping retry inside the client"
    assert report.next_due_at is not None and report.next_due_at > utcnow()
    stop = threading.Event()
    thread = threading.Thread(
        target=run_forever,
        kwargs={
            "sessions": sessions,
            "client": client,
            "stop_event": stop,
            "interval": 0.1,
            "policy": FAST,
        },
    )
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while pending(sessions) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive() and pending(sessions) == 0

    limited = [c for c in slack.calls("chat.postMessage") if c.status == 429]
    assert limited, "the stand-in answered 429 at first"
    assert limited[0].at + 0.9 <= posts(slack)[0].at, "Retry-After was honoured"
    expected = [r.id for r in rows(sessions)]
    assert sorted(outbox_ids(posts(slack, top_level=False))) == expected
    assert outbox_ids(posts(slack, top_level=False)) == expected, "posted in outbox order"
    assert len(posts(slack, top_level=True)) == 2


def test_posts_to_one_channel_are_a_second_apart(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    slack.limit_rate(per_second=1.0)
    endpoint_id = new_endpoint(sessions)
    move(sessions, endpoint_id, EndpointEvent.INTERFACE_SUBMITTED, vpc_id="vpc-01234567")
    new_endpoint(sessions, channel="C0BILLING", name="ledger")
    report = drain(sessions, client, policy=SendPolicy())

    assert report.rate_limited == 0 and report.deferred >= 2
    assert all(c.status == 200 for c in slack.calls("chat.postMessage"))
    times = {
        channel: [c.at for c in posts(slack) if c.args["channel"] == channel]
        for channel in (CHANNEL, "C0BILLING")
    }
    assert len(times[CHANNEL]) == 3 and len(times["C0BILLING"]) == 2
    for stamps in times.values():
        assert all(b - a >= 0.95 for a, b in zip(stamps, stamps[1:], strict=False))
    assert abs(times[CHANNEL][0] - times["C0BILLING"][0]) < 0.9, "channels do not wait"


def test_two_senders_send_each_row_once(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    channels = [f"C0TEAM{i:04d}" for i in range(6)]
    for i, channel in enumerate(channels):
        endpoint_id = new_endpoint(sessions, channel=channel, name=f"db{i}")
        for event, values in TO_ACTIVE[:3]:
            move(sessions, endpoint_id, event, **values | {"vpce_id": f"vpce-{i:08x}"})
    failures: list[BaseException] = []

    def sender(worker: str) -> None:
        try:
            drain(sessions, client, worker_id=worker, timeout=30)
        except BaseException as error:  # reported to the test thread below
            failures.append(error)
            raise

    threads = [threading.Thread(target=sender, args=(f"worker-{n}",)) for n in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=40)
    assert not failures

    replies = outbox_ids(posts(slack, top_level=False))
    assert sorted(replies) == [r.id for r in rows(sessions)], "every row sent exactly once"
    assert len(posts(slack, top_level=True)) == len(channels)
    for channel in channels:
        (parent,) = slack.messages(channel)
        assert len(slack.replies(channel, parent["ts"])) == 4


def test_a_crash_after_the_parent_post_does_not_post_it_again(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    endpoint_id = new_endpoint(sessions)

    def crash(row_id: int, step: str) -> None:
        raise Crash(f"row {row_id} after {step}")

    with pytest.raises(Crash):
        send_due(sessions=sessions, client=client, policy=FAST, worker_id="a", checkpoint=crash)
    assert alert_ts(sessions, endpoint_id) is not None
    # Another worker leaves the dead worker's claim alone until its lease ends.
    assert send_due(sessions=sessions, client=client, policy=FAST, worker_id="b").claimed == 0
    later = utcnow() + timedelta(seconds=FAST.lease + 1)
    report = send_due(sessions=sessions, client=client, policy=FAST, worker_id="b", now=later)

    assert report.sent == 1
    (parent,) = posts(slack, top_level=True)
    assert alert_ts(sessions, endpoint_id) == parent.response["ts"]
    assert len(slack.replies(CHANNEL, parent.response["ts"])) == 1


def test_a_crash_after_an_update_goes_on_with_the_reply(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    endpoint_id = new_endpoint(sessions)
    drain(sessions, client)
    move(sessions, endpoint_id, EndpointEvent.INTERFACE_SUBMITTED, vpc_id="vpc-01234567")

    def crash(row_id: int, step: str) -> None:
        raise Crash(step)

    with pytest.raises(Crash):
        send_due(sessions=sessions, client=client, policy=FAST, worker_id="a", checkpoint=crash)
    later = utcnow() + timedelta(seconds=FAST.lease + 1)
    assert send_due(sessions=sessions, client=client, policy=FAST, now=later).sent == 1

    assert len([c for c in slack.calls("chat.update") if c.ok]) == 1
    assert len(posts(slack, top_level=True)) == 1
    assert len(posts(slack, top_level=False)) == 2


def test_permanent_errors_give_up_after_a_few_tries(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    new_endpoint(sessions, channel="C0GONE")
    slack.fail_next("chat.postMessage", error="channel_not_found", times=10)
    report = drain(sessions, client, policy=SendPolicy(spacing=0, backoff_base=0.01))

    assert report.retried == 2 and report.dead == 1 and report.sent == 0
    (row,) = rows(sessions)
    assert row.dead_at is not None and row.sent_at is None
    assert row.attempts == 3 and row.last_error == "channel_not_found"
    assert pending(sessions) == 0


def test_a_dead_row_no_longer_holds_back_its_channel(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    endpoint_id = new_endpoint(sessions)
    move(sessions, endpoint_id, EndpointEvent.INTERFACE_SUBMITTED, vpc_id="vpc-01234567")
    with transaction(sessions) as session:
        first = session.scalars(select(orm.Outbox).order_by(orm.Outbox.id)).first()
        assert first is not None
        first.payload = {"text": "no endpoint snapshot"}
    report = drain(sessions, client)

    assert report.dead == 1 and report.sent == 1
    assert "malformed payload" in (rows(sessions)[0].last_error or "")
    (parent,) = slack.messages(CHANNEL)
    assert len(slack.replies(CHANNEL, parent["ts"])) == 1


def test_server_errors_back_off_then_succeed(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    new_endpoint(sessions)
    slack.fail_next("chat.postMessage", error="internal_error", status=500, times=2)
    first = send_due(sessions=sessions, client=client, policy=FAST)
    assert first.retried == 1 and first.next_due_at is not None
    (row,) = rows(sessions)
    assert row.attempts == 1 and row.last_error == "internal_error"
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=0.1)
    report = drain(sessions, client)
    assert report.retried == 1 and report.sent == 1
    assert rows(sessions)[0].attempts == 2


def test_a_missing_parent_is_posted_anew(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    endpoint_id = new_endpoint(sessions)
    drain(sessions, client)
    old = alert_ts(sessions, endpoint_id)
    move(sessions, endpoint_id, EndpointEvent.INTERFACE_SUBMITTED, vpc_id="vpc-01234567")
    slack.fail_next("chat.update", error="message_not_found")
    report = drain(sessions, client)

    assert report.sent == 1 and report.retried == 0
    new = alert_ts(sessions, endpoint_id)
    assert new is not None and new != old
    assert len(slack.replies(CHANNEL, new)) == 1


def test_a_vanished_thread_gets_a_new_parent(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    endpoint_id = new_endpoint(sessions)
    drain(sessions, client)
    old = alert_ts(sessions, endpoint_id)
    move(sessions, endpoint_id, EndpointEvent.INTERFACE_SUBMITTED, vpc_id="vpc-01234567")
    slack.fail_next("chat.postMessage", error="thread_not_found")
    report = drain(sessions, client)

    assert report.retried == 1 and report.sent == 1
    new = alert_ts(sessions, endpoint_id)
    assert new is not None and new != old
    assert [r["text"] for r in slack.replies(CHANNEL, new)] == [rows(sessions)[1].payload["text"]]
