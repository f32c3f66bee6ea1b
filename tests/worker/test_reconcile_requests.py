"""Connection requests from unknown endpoints, end to end: the reconcile worker finds one on the
local AWS (HTTP) and tells the project's owners once, in the Slack stand-in, with Accept and
Reject; owners' clicks reach the bot as signed requests; the worker carries the decision out on
AWS, once, and the thread tells it. Over SQLite and Postgres."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import func, select

from bot.config import Settings
from bot.server import assemble, http_in_background
from bot.services import clusters
from bot.storage import orm
from bot.storage.db import transaction
from bot.worker.outbox import SendPolicy, send_due
from sandbox.aws import call_count
from sandbox.person import Person
from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn, SlackStandIn, start
from sandbox.slack_client import SlackRequestClient
from tests.aws_fixtures import CONSUMER_ACCOUNT, REGION, aws_url, local_aws_server  # noqa: F401 (fixtures)
from tests.worker.test_reconcile_connections import started
from tests.worker.test_reconcile_workers import in_parallel
from tests.worker.test_reconcile_world import (
    CHANNEL,
    FAST,
    OWNER,
    Crash,
    World,
    crash_at,
    world_fixture,  # noqa: F401 (fixture)
)

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MEMBER = "U0MEMBER001"
ACCEPT, REJECT = "AcceptVpcEndpointConnections", "RejectVpcEndpointConnections"


@dataclass
class Chat:
    """The bot served over HTTP on the world's database, with the stand-in as Slack."""

    world: World
    running: RunningStandIn
    requests: SlackRequestClient

    def person(self, user_id: str) -> Person:
        return Person(user_id=user_id, channel_id=CHANNEL, client=self.requests, slack=self.running)

    def drain(self) -> None:
        """The outbox sender sends everything queued."""
        client = WebClient(token=DEFAULT_TOKEN, base_url=self.running.api_url)
        deadline = time.monotonic() + 20
        while outbox_pending(self.world):
            assert time.monotonic() < deadline, "the outbox did not drain"
            send_due(sessions=self.world.sessions, client=client, policy=SendPolicy(spacing=0))

    def parents(self) -> list[dict[str, Any]]:
        """The channel's top-level messages, as they read now."""
        return [
            m
            for m in self.running.standin.messages(CHANNEL)
            if m.get("thread_ts") in (None, m.get("ts"))
        ]

    def thread(self, parent: dict[str, Any]) -> list[str]:
        return [r["text"] for r in self.running.standin.replies(CHANNEL, parent["ts"])]

    def click(self, user_id: str, message: dict[str, Any], action_id: str) -> str:
        """`user_id` presses a button of `message`; what the bot answered them, privately."""
        before = len(self.running.standin.calls("response_url"))
        assert self.person(user_id).click_in_message(message, action_id).status == 200
        calls = self.running.standin.wait_for("response_url", count=before + 1)
        answer = calls[-1].args
        assert (answer["response_type"], answer["replace_original"]) == ("ephemeral", False)
        return str(answer["text"])


@pytest.fixture
def chat(world: World, clean_database: str) -> Iterator[Chat]:
    _, running = start(SlackStandIn(trigger_ttl=None))
    settings = Settings(
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,  # type: ignore[arg-type]
        SLACK_API_URL=running.api_url,
        DATABASE_URL=clean_database,  # type: ignore[arg-type]
    )
    bot = assemble(settings)
    with http_in_background(bot) as url:
        yield Chat(world, running, SlackRequestClient(url, signing_secret=SECRET))
    bot.engine.dispose()
    running.stop()


def outbox_pending(world: World) -> int:
    with world.sessions() as session:
        query = select(func.count()).where(
            orm.Outbox.sent_at.is_(None), orm.Outbox.dead_at.is_(None)
        )
        return session.scalar(query.select_from(orm.Outbox)) or 0


def request_rows(world: World) -> list[tuple[str, str, str | None]]:
    """(vpce, status, decided_by) of every recorded request."""
    with world.sessions() as session:
        rows = session.scalars(select(orm.ConnectionRequest).order_by(orm.ConnectionRequest.id))
        return [(r.vpce_id, r.status, r.decided_by) for r in rows]


def notices(world: World) -> int:
    with world.sessions() as session:
        query = select(func.count()).where(orm.Outbox.kind == "connection_request")
        return session.scalar(query.select_from(orm.Outbox)) or 0


def unknown_request(world: World) -> tuple[int, str]:
    """An active-service cluster whose one endpoint is accepted, and then a second endpoint
    from the same account that no wizard waits for: (cluster, the unknown vpce)."""
    cluster, endpoint, _ = started(world)
    world.vpce(endpoint, world.create_vpce(cluster))
    world.run()
    return cluster, world.create_vpce(cluster)


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]


def test_an_unknown_request_is_announced_once_to_the_owners(world: World, chat: Chat) -> None:
    _, vpce = unknown_request(world)
    accepts = call_count(action=ACCEPT)

    assert world.run().unknown == 1
    assert (world.run().unknown, world.run().unknown) == (0, 0)
    assert request_rows(world) == [(vpce, "pending", None)]
    assert notices(world) == 1
    chat.drain()

    [parent] = [p for p in chat.parents() if vpce in p["text"]]
    assert parent["text"].startswith(
        f"Connection request from an unknown endpoint: {vpce} in account {CONSUMER_ACCOUNT} → "
        f"orders ({REGION})"
    )
    assert buttons(parent) == ["accept_connection", "reject_connection"]
    assert f"Owners decide: <@{OWNER}>" in json.dumps(parent["blocks"])
    [seen] = chat.thread(parent)
    assert seen.startswith(f"<@{OWNER}>: AWS account {CONSUMER_ACCOUNT} asks to connect {vpce}")
    assert world.connection_state(vpce) == "pendingAcceptance"
    assert call_count(action=ACCEPT) == accepts  # never accepted on its own


def test_two_workers_announce_it_once(world: World) -> None:
    _, vpce = unknown_request(world)

    in_parallel(world, workers=2, passes=2, policy=FAST)

    assert request_rows(world) == [(vpce, "pending", None)]
    assert notices(world) == 1


def test_the_only_waiting_wizard_takes_its_accounts_request_and_the_other_is_announced(
    world: World,
) -> None:
    cluster, endpoint, _ = started(world)
    requests = {world.create_vpce(cluster), world.create_vpce(cluster)}
    world.run()
    row = world.row(endpoint)
    assert row is not None and row.vpce_id in requests and row.suggested_vpce_id is None
    (unknown,) = requests - {row.vpce_id}

    world.run()

    assert request_rows(world) == [(unknown, "pending", None)]
    assert notices(world) == 1
    assert world.connection_state(unknown) == "pendingAcceptance"
    assert world.connection_state(row.vpce_id) != "pendingAcceptance"
    assert call_count(action=ACCEPT) == 1


def test_two_waiting_wizards_of_one_account_are_offered_requests_and_take_none(
    world: World,
) -> None:
    cluster, first, _ = started(world)
    second = world.endpoint(cluster)
    world.interface(second)
    world.run()
    requests = {world.create_vpce(cluster), world.create_vpce(cluster)}
    for _ in range(3):
        world.run()

    rows = [world.row(first), world.row(second)]
    assert all(r is not None and r.status == "initiating" and r.vpce_id is None for r in rows)
    assert {r.suggested_vpce_id for r in rows if r is not None} == requests  # both asked
    assert {world.connection_state(v) for v in requests} == {"pendingAcceptance"}
    assert call_count(action=ACCEPT) == 0
    assert request_rows(world) == [] and notices(world) == 0


def test_a_members_click_is_refused_in_words(world: World, chat: Chat) -> None:
    _, vpce = unknown_request(world)
    world.run()
    chat.drain()
    [parent] = [p for p in chat.parents() if vpce in p["text"]]
    accepts = call_count(action=ACCEPT)

    said = chat.click(MEMBER, parent, "accept_connection")

    assert said == (
        f"Only owners of project payments can accept or reject connection requests. "
        f"Owners: <@{OWNER}>."
    )
    assert request_rows(world) == [(vpce, "pending", None)]
    world.run()
    assert (call_count(action=ACCEPT), world.connection_state(vpce)) == (
        accepts,
        "pendingAcceptance",
    )


def test_an_owners_accept_is_carried_out_on_aws_once(world: World, chat: Chat) -> None:
    _, vpce = unknown_request(world)
    world.run()
    chat.drain()
    [parent] = [p for p in chat.parents() if vpce in p["text"]]
    accepts = call_count(action=ACCEPT)

    said = chat.click(OWNER, parent, "accept_connection")
    assert said.startswith(f"The bot will accept the connection from {vpce} within a minute")
    assert request_rows(world) == [(vpce, "accept_requested", OWNER)]
    chat.drain()
    [parent] = [p for p in chat.parents() if vpce in p["text"]]
    assert buttons(parent) == [] and f"Accepting, as <@{OWNER}> asked." in json.dumps(parent)

    report = world.run()
    assert report.accepted == 1 and call_count(action=ACCEPT) == accepts + 1
    assert world.connection_state(vpce) in ("pending", "available")
    assert request_rows(world) == [(vpce, "accepted", OWNER)]
    world.run()
    assert call_count(action=ACCEPT) == accepts + 1
    chat.drain()
    [parent] = [p for p in chat.parents() if vpce in p["text"]]
    assert buttons(parent) == [] and f"Accepted by <@{OWNER}>" in json.dumps(parent)
    assert chat.thread(parent)[1:] == [
        f"<@{OWNER}> asked to accept the connection from {vpce}; the bot does it on AWS "
        "within a minute.",
        f"The connection from {vpce} was accepted by <@{OWNER}>: it can now reach orders.",
    ]


def test_an_owners_reject_is_carried_out_on_aws_once(world: World, chat: Chat) -> None:
    _, vpce = unknown_request(world)
    world.run()
    chat.drain()
    [parent] = [p for p in chat.parents() if vpce in p["text"]]
    rejects = call_count(action=REJECT)

    chat.click(OWNER, parent, "reject_connection")
    world.run()
    world.run()

    assert call_count(action=REJECT) == rejects + 1
    assert world.connection_state(vpce) == "rejected"
    assert request_rows(world) == [(vpce, "rejected", OWNER)]
    chat.drain()
    [parent] = [p for p in chat.parents() if vpce in p["text"]]
    assert buttons(parent) == [] and f"Rejected by <@{OWNER}>" in json.dumps(parent)
    assert chat.thread(parent)[-1] == (
        f"The connection from {vpce} was rejected by <@{OWNER}>: it cannot reach orders."
    )


def test_a_double_click_makes_one_aws_call(world: World, chat: Chat) -> None:
    _, vpce = unknown_request(world)
    world.run()
    chat.drain()
    [parent] = [p for p in chat.parents() if vpce in p["text"]]
    accepts = call_count(action=ACCEPT)

    chat.click(OWNER, parent, "accept_connection")
    again = chat.click(OWNER, parent, "accept_connection")
    other = chat.click(OWNER, parent, "reject_connection")
    for _ in range(3):
        world.run()
    after = chat.click(OWNER, parent, "accept_connection")

    assert again == f"{vpce} is already being accepted, as <@{OWNER}> asked."
    assert other == (
        f"{vpce} is already being accepted, as <@{OWNER}> decided; it cannot be rejected now."
    )
    assert after == f"{vpce} was already accepted by <@{OWNER}>."
    assert call_count(action=ACCEPT) == accepts + 1
    assert call_count(action=REJECT) == 0
    assert notices(world) == 3  # seen, accept asked, accepted


def test_a_crash_after_accepting_on_aws_repeats_nothing(world: World, chat: Chat) -> None:
    _, vpce = unknown_request(world)
    world.run()
    chat.drain()
    [parent] = [p for p in chat.parents() if vpce in p["text"]]
    chat.click(OWNER, parent, "accept_connection")
    accepts = call_count(action=ACCEPT)

    with pytest.raises(Crash):
        world.run(checkpoint=crash_at("mutated"))
    assert request_rows(world) == [(vpce, "accept_requested", OWNER)]
    world.run(worker="worker-2")

    assert request_rows(world) == [(vpce, "accepted", OWNER)]
    assert call_count(action=ACCEPT) == accepts + 1


def test_a_request_whose_endpoint_goes_away_is_closed(world: World, chat: Chat) -> None:
    _, vpce = unknown_request(world)
    world.run()
    chat.drain()
    [stale] = [p for p in chat.parents() if vpce in p["text"]]  # as a client not refreshed
    world.consumer().ec2.delete_vpc_endpoints(VpcEndpointIds=[vpce])

    world.run()

    [(_, status, _)] = request_rows(world)
    assert status == "gone"
    chat.drain()
    [parent] = [p for p in chat.parents() if vpce in p["text"]]
    assert buttons(parent) == [] and "Nothing to decide any more." in json.dumps(parent)
    assert chat.thread(parent)[-1].startswith(f"The request from {vpce} is no longer pending: ")
    said = chat.click(OWNER, stale, "accept_connection")
    assert (
        said == f"The request from {vpce} is no longer pending on AWS; there is nothing to decide."
    )


def test_dropping_the_cluster_closes_its_requests(world: World) -> None:
    _, vpce = unknown_request(world)
    world.run()
    with transaction(world.sessions) as session:
        clusters.drop(session=session, name="orders")

    world.run()

    assert request_rows(world) == []  # gone with the service
    with world.sessions() as session:
        last = session.scalars(
            select(orm.Outbox)
            .where(orm.Outbox.kind == "connection_request")
            .order_by(orm.Outbox.id.desc())
        ).first()
    assert last is not None and last.payload["request"]["status"] == "gone"
    assert "its cluster was dropped" in last.payload["text"]


def test_a_vpce_typed_into_another_services_wizard_leaves_the_request_open(
    world: World, chat: Chat
) -> None:
    _, vpce = unknown_request(world)
    world.run()
    other = world.cluster("billing")
    endpoint = world.endpoint(other)
    world.ready(other)
    world.interface(endpoint)
    world.run()

    world.vpce(endpoint, vpce)  # the wrong service's wizard: it will fail, not take the request
    world.run()
    world.run()

    row = world.row(endpoint)
    assert (
        row is not None
        and row.status == "failed"
        and "another endpoint service" in (row.failure_reason or "")
    )
    assert request_rows(world) == [(vpce, "pending", None)]
    assert world.connection_state(vpce) == "pendingAcceptance"
    chat.drain()
    [parent] = [p for p in chat.parents() if vpce in p["text"]]
    assert buttons(parent) == ["accept_connection", "reject_connection"]  # owners still decide
