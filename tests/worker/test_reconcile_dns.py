"""Private DNS verification end to end, on the local AWS, the Slack stand-in and SQLite/Postgres:
the owners' message with the TXT record, Verify now (a signed button press), AWS's check started
by the worker, the outcome in the same thread, the wizard's DNS stage and the Active alert; and
nothing told twice across passes or workers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.ec2.models import ec2_backends
from slack_sdk import WebClient
from sqlalchemy import Engine, select

from bot.config import Settings
from bot.server import assemble, http_in_background
from bot.services import dns_verification, wizard
from bot.slack.views.wizard import wizard_view
from bot.storage import orm
from bot.storage.db import transaction
from bot.worker.outbox import SendPolicy, send_due
from bot.worker.reconciler import ReconcilePolicy
from sandbox.aws import (
    PROVIDER_ACCOUNT_ID,
    call_count,
    configure,
    fail_dns_verification,
    inject_fault,
)
from sandbox.aws.settings import LOCK, SETTINGS
from sandbox.person import Person
from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn, SlackStandIn, start
from sandbox.slack_client import SlackRequestClient
from tests.aws_fixtures import REGION, aws_url, local_aws_server  # noqa: F401 (fixtures)
from tests.worker.test_reconcile_modals import open_wizard, shown
from tests.worker.test_reconcile_workers import in_parallel
from tests.worker.test_reconcile_world import (
    CHANNEL,
    OWNER,
    World,
    set_service_state,
    world_fixture,  # noqa: F401 (fixture)
)

SECRET = "dns-test-signing-secret-0123456789"
MEMBER = "U0MEMBER01"
START = "StartVpcEndpointServicePrivateDnsVerification"
SEND = SendPolicy(spacing=0.0, backoff_base=0.1)


@dataclass
class Slack:
    """The stand-in as Slack, the bot serving Slack's requests, and the outbox delivering."""

    running: RunningStandIn
    client: SlackRequestClient
    world: World

    def person(self, user_id: str = OWNER) -> Person:
        """A user in the project's channel."""
        return Person(user_id=user_id, channel_id=CHANNEL, client=self.client, slack=self.running)

    def deliver(self) -> None:
        """Send every queued notice (parents, then replies)."""
        web = WebClient(token=DEFAULT_TOKEN, base_url=self.running.api_url)
        for _ in range(50):
            if send_due(sessions=self.world.sessions, client=web, policy=SEND).claimed == 0:
                return
        raise AssertionError("the outbox did not drain")

    def parents(self, needle: str = "Private DNS for") -> list[dict[str, Any]]:
        """The channel's top-level messages that contain `needle`."""
        return [
            m
            for m in self.running.standin.messages(CHANNEL)
            if m.get("thread_ts") in (None, m["ts"]) and needle in json.dumps(m)
        ]

    def replies(self, parent: dict[str, Any]) -> list[str]:
        """The texts of a thread's replies, oldest first."""
        return [r["text"] for r in self.running.standin.replies(CHANNEL, parent["ts"])]

    def answer(self, count: int) -> str:
        """What the bot answered the `count`-th button press (only the presser sees it)."""
        calls = self.running.standin.wait_for("response_url", count=count)
        return json.dumps(calls[count - 1].args)


@pytest.fixture
def slack(world: World, clean_database: str, db_engine: Engine) -> Iterator[Slack]:
    _, running = start(SlackStandIn(trigger_ttl=None))
    settings = Settings(
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,  # type: ignore[arg-type]
        SLACK_API_URL=running.api_url,
        DATABASE_URL=clean_database,  # type: ignore[arg-type]
    )
    bot = assemble(settings)
    with http_in_background(bot) as url:
        yield Slack(running, SlackRequestClient(url, signing_secret=SECRET), world)
    bot.engine.dispose()
    running.stop()


def dns_rows(world: World) -> list[tuple[str, dict[str, Any]]]:
    """(dedupe key, payload) of the DNS notices queued, oldest first."""
    with world.sessions() as session:
        query = (
            select(orm.Outbox).where(orm.Outbox.kind == "dns_verification").order_by(orm.Outbox.id)
        )
        return [(r.dedupe_key, r.payload) for r in session.scalars(query)]


def changes_told(world: World) -> list[str]:
    return [payload["change"] for _, payload in dns_rows(world)]


def at_dns_stage(world: World) -> tuple[int, int, str]:
    """A cluster whose service is active and read, with an endpoint accepted (at Enable
    Private DNS); (cluster, endpoint, vpce) ids."""
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    world.ready(cluster)
    world.interface(endpoint)
    world.run()
    vpce = world.create_vpce(cluster)
    world.vpce(endpoint, vpce)
    world.run()
    row = world.row(endpoint)
    assert row is not None and (row.status, row.stage) == ("pending", "enable_private_dns")
    return cluster, endpoint, vpce


def dns_stage_text(world: World, endpoint: int) -> str:
    with world.sessions() as session:
        row = session.get(orm.PrivateEndpoint, endpoint)
        assert row is not None
        return json.dumps(wizard_view(wizard.state_of(session=session, endpoint=row)))


def enable_private_dns(world: World, vpce: str) -> None:
    world.consumer().ec2.modify_vpc_endpoint(VpcEndpointId=vpce, PrivateDnsEnabled=True)


def verify_in_the_console(world: World, cluster: int) -> None:
    """The provider starts AWS's check outside the bot (the AWS console, the CLI)."""
    service_id = world.service(cluster).aws_service_id or ""
    world.gateway(REGION).start_dns_verification(service_id=service_id)


def record_published(target: str) -> None:
    """The TXT record is now published: AWS's next check of `target` succeeds."""
    with LOCK:
        SETTINGS.dns_failures.discard(target)


def request(world: World, cluster: int) -> None:
    """An owner presses Verify now."""
    with transaction(world.sessions) as session:
        service_id = world.service(cluster).id
        dns_verification.request_verification(session=session, service_id=service_id, user_id=OWNER)


def test_owners_verify_through_the_button_and_every_surface_follows(
    world: World, slack: Slack
) -> None:
    cluster, endpoint, vpce = at_dns_stage(world)
    service = world.service(cluster)
    aws = world.gateway(REGION).get_service(service_id=service.aws_service_id or "")
    assert service.dns_state == aws.dns_state == "pendingVerification"
    assert (service.dns_txt_name, service.dns_txt_value) == (aws.dns_txt_name, aws.dns_txt_value)
    assert aws.dns_txt_name and aws.dns_txt_value

    # the owners get one message with the exact TXT record and Verify now
    assert changes_told(world) == ["needs_verification"]
    slack.deliver()
    [parent] = slack.parents()
    text = json.dumps(parent)
    assert "Private DNS for orders (us-west-2) needs verification" in text
    assert f"```{aws.dns_txt_name}```" in text and f"```{aws.dns_txt_value}```" in text
    assert f"<@{OWNER}>" in text and '"action_id": "verify_dns"' in text

    # the DNS stage says plainly that private DNS cannot be enabled yet, and AWS agrees
    stage = dns_stage_text(world, endpoint)
    assert "cannot be turned on yet" in stage and "modify-vpc-endpoint" not in stage
    with pytest.raises(ClientError, match="is not verified"):
        enable_private_dns(world, vpce)

    # passes and a second worker tell nothing more
    for worker in ("worker-1", "worker-2", "worker-1"):
        world.run(worker=worker)
    assert changes_told(world) == ["needs_verification"]

    # a member may not press it; an owner's press (twice) queues one request, no AWS call
    member, owner = slack.person(MEMBER), slack.person()
    assert member.click_in_message(parent, "verify_dns").status == 200
    assert "Only owners of project payments" in slack.answer(1)
    assert world.service(cluster).dns_verify_requested_at is None
    owner.click_in_message(parent, "verify_dns")
    assert "The result is posted in this thread" in slack.answer(2)
    owner.click_in_message(parent, "verify_dns")
    slack.answer(3)
    assert world.service(cluster).dns_verify_requested_at is not None
    assert call_count(action=START) == 0
    asked = [e for e in world.events("endpoint_service", service.id) if "requested" in e[0]]
    assert asked == [("dns_verification_requested", None)]

    # the worker starts AWS's check once, then reads the outcome
    world.run()
    assert call_count(action=START) == 1
    started = world.service(cluster)
    assert (started.dns_state, started.dns_verify_requested_at) == ("verifying", None)
    world.run()
    assert world.service(cluster).dns_state == "verified"
    for worker in ("worker-2", "worker-1"):
        world.run(worker=worker)
    assert call_count(action=START) == 1
    assert changes_told(world) == ["needs_verification", "started", "verified"]

    # the outcome is in the same thread; the parent was updated in place
    slack.deliver()
    [parent] = slack.parents()
    assert "is verified" in json.dumps(parent) and "verify_dns" not in json.dumps(parent)
    replies = slack.replies(parent)
    assert len(replies) == 3
    assert f"Verification started by <@{OWNER}>" in replies[1]
    assert "Verified ✓: connection strings for `orders.us-west-2." in replies[2]

    # the DNS stage now gives the command, and it works; the Active alert gives the host
    assert "modify-vpc-endpoint" in dns_stage_text(world, endpoint)
    enable_private_dns(world, vpce)
    world.create(endpoint)
    world.run()
    slack.deliver()
    [alert] = slack.parents("Private endpoint #")
    [active] = [r for r in slack.replies(alert) if "is active" in r]
    assert "orders.us-west-2.privatelink.example.com:4000" in active
    assert "does not resolve" not in active


def test_the_active_alert_says_when_the_host_does_not_resolve(world: World, slack: Slack) -> None:
    cluster, endpoint, vpce = at_dns_stage(world)
    world.create(endpoint)  # Create without private DNS, as the stage allows
    world.run()
    row = world.row(endpoint)
    assert row is not None and row.status == "active"
    slack.deliver()
    [alert] = slack.parents("Private endpoint #")
    active = json.dumps(slack.running.standin.replies(CHANNEL, alert["ts"])[-1])
    assert "does not resolve yet" in active
    assert f"--vpc-endpoint-ids {vpce}" in active


def test_an_open_wizard_at_the_dns_stage_follows_the_verification(
    world: World, slack: Slack
) -> None:
    cluster, endpoint, _ = at_dns_stage(world)
    web = WebClient(token=DEFAULT_TOKEN, base_url=slack.running.api_url)
    view_id = open_wizard(world, slack.running, web, endpoint)
    assert "cannot be turned on yet" in shown(slack.running, view_id)
    with transaction(world.sessions) as session:
        service_id = world.service(cluster).id
        dns_verification.request_verification(session=session, service_id=service_id, user_id=OWNER)
    world.run(slack=web)  # started
    assert "modify-vpc-endpoint" not in shown(slack.running, view_id)
    world.run(slack=web)  # verified: the modal gives the command
    assert "modify-vpc-endpoint" in shown(slack.running, view_id)


def test_a_failed_verification_is_told_once_per_check_with_the_reason(
    world: World, slack: Slack
) -> None:
    cluster, _, _ = at_dns_stage(world)
    service = world.service(cluster)
    fail_dns_verification(target=service.aws_service_id or "")
    slack.deliver()
    [parent] = slack.parents()
    owner = slack.person()

    owner.click_in_message(parent, "verify_dns")
    slack.answer(1)
    for _ in range(4):
        world.run()
    failed = world.service(cluster)
    assert failed.dns_state == "failed" and failed.dns_txt_name
    assert failed.dns_failure_reason and failed.dns_txt_name in failed.dns_failure_reason
    assert changes_told(world) == ["needs_verification", "started", "failed"]

    slack.deliver()
    [parent] = slack.parents()
    assert "The last verification failed" in json.dumps(parent)
    assert "verify_dns" in json.dumps(parent)  # they may try again
    replies = slack.replies(parent)
    assert replies[-1].startswith("Verification failed: AWS could not find a TXT record")

    owner.click_in_message(parent, "verify_dns")  # a second check fails too: told again
    slack.answer(2)
    for _ in range(3):
        world.run()
    assert changes_told(world) == ["needs_verification", "started", "failed", "started", "failed"]
    keys = [key for key, _ in dns_rows(world)]
    assert len(set(keys)) == len(keys)
    assert call_count(action=START) == 2


def test_aws_refusing_the_check_is_told_and_a_busy_aws_is_retried(
    world: World, slack: Slack
) -> None:
    cluster, _, _ = at_dns_stage(world)
    slack.deliver()
    [parent] = slack.parents()
    slack.person().click_in_message(parent, "verify_dns")
    slack.answer(1)

    inject_fault(action=START, code="RequestLimitExceeded", message="Slow down.", status=503)
    world.run()
    assert world.service(cluster).dns_verify_requested_at is not None  # kept for the next pass
    assert changes_told(world) == ["needs_verification"]

    inject_fault(
        action=START,
        code="InvalidParameter",
        message="The private DNS name cannot be verified now.",
        status=400,
    )
    world.run()
    refused = world.service(cluster)
    assert (refused.dns_state, refused.dns_verify_requested_at) == ("failed", None)
    assert "cannot be verified now" in (refused.dns_failure_reason or "")
    assert changes_told(world) == ["needs_verification", "failed"]


def test_a_new_service_after_a_failure_has_its_record_told_anew(world: World) -> None:
    configure(service_delay=5)
    cluster = world.cluster()
    endpoint = world.endpoint(cluster)
    world.run()
    world.run()  # the creating service is read: its name awaits verification
    first = world.service(cluster)
    assert first.dns_state == "pendingVerification" and first.dns_txt_name
    set_service_state(first.aws_service_id or "", "Failed")
    world.run()
    configure(service_delay=0)
    world.interface(endpoint)  # Retry: a new service, with a new TXT record
    world.run()
    world.run()
    second = world.service(cluster)
    assert second.aws_service_id != first.aws_service_id
    assert second.dns_state == "pendingVerification"
    assert second.dns_txt_name and second.dns_txt_name != first.dns_txt_name
    told = dns_rows(world)
    assert [p["change"] for _, p in told] == ["needs_verification"] * 2
    assert told[1][1]["dns"]["txt_name"] == second.dns_txt_name


def test_a_name_verified_from_the_start_is_not_announced(world: World) -> None:
    configure(dns_verified=True)
    cluster = world.cluster()
    world.endpoint(cluster)
    world.ready(cluster)
    world.run()
    assert world.service(cluster).dns_state == "verified"
    world.run()
    assert dns_rows(world) == []


def test_two_workers_tell_each_change_once(world: World, slack: Slack) -> None:
    clusters = [world.cluster(f"c{i}") for i in range(3)]
    for cluster in clusters:
        world.endpoint(cluster)
    policy = ReconcilePolicy(batch=1, not_found_grace=0)

    def until(states: set[str | None]) -> None:
        for _ in range(10):
            in_parallel(world, workers=2, passes=2, policy=policy)
            if {world.service(c).dns_state for c in clusters} <= states:
                return
        raise AssertionError("the workers did not get there")

    until({"pendingVerification"})
    until({"pendingVerification"})  # more passes of both workers tell nothing more
    assert changes_told(world) == ["needs_verification"] * 3
    slack.deliver()
    owner = slack.person()
    for count, parent in enumerate(slack.parents(), start=1):
        owner.click_in_message(parent, "verify_dns")
        slack.answer(count)
    until({"verified"})
    until({"verified"})

    assert call_count(action=START) == 3
    assert sorted(changes_told(world)) == sorted(["needs_verification", "started", "verified"] * 3)
    slack.deliver()
    assert [len(slack.replies(p)) for p in slack.parents()] == [3, 3, 3]


@pytest.mark.parametrize("first", ["pendingVerification", "failed"])
def test_a_name_verified_outside_the_bot_is_noticed(world: World, first: str) -> None:
    cluster, _, _ = at_dns_stage(world)
    aws_id = world.service(cluster).aws_service_id or ""
    if first == "failed":  # an earlier check failed
        fail_dns_verification(target=aws_id)
        request(world, cluster)
        for _ in range(2):
            world.run()
        record_published(aws_id)
    assert world.service(cluster).dns_state == first
    told = changes_told(world)

    verify_in_the_console(world, cluster)
    world.run()
    world.run()

    assert world.service(cluster).dns_state == "verified"
    assert changes_told(world) == [*told, "verified"]


def test_a_check_started_outside_the_bot_after_a_failure_is_pending_again(world: World) -> None:
    cluster, _, _ = at_dns_stage(world)
    aws_id = world.service(cluster).aws_service_id or ""
    fail_dns_verification(target=aws_id)
    request(world, cluster)
    for _ in range(2):
        world.run()
    assert world.service(cluster).dns_state == "failed"
    with LOCK:  # AWS checks again (started in the console) and has no answer yet
        configuration = ec2_backends[PROVIDER_ACCOUNT_ID][REGION].configurations[aws_id]
        configuration.sandbox_dns_state = "pendingVerification"

    world.run()

    assert world.service(cluster).dns_state == "pendingVerification"
    assert changes_told(world) == ["needs_verification", "started", "failed"]


def test_verify_now_on_a_name_verified_outside_the_bot_starts_nothing(world: World) -> None:
    cluster, _, _ = at_dns_stage(world)
    request(world, cluster)
    verify_in_the_console(world, cluster)
    starts = call_count(action=START)

    world.run()

    service = world.service(cluster)
    assert (service.dns_state, service.dns_verify_requested_at) == ("verified", None)
    assert call_count(action=START) == starts
    assert changes_told(world) == ["needs_verification", "verified"]


def test_a_check_started_in_a_pass_that_read_failed_is_watched(world: World) -> None:
    cluster, _, _ = at_dns_stage(world)
    aws_id = world.service(cluster).aws_service_id or ""
    fail_dns_verification(target=aws_id)
    verify_in_the_console(world, cluster)  # AWS now says `failed`; the bot has not read it
    record_published(aws_id)
    request(world, cluster)

    world.run()  # reads `failed`, then starts the owner's check: it is under way

    assert world.service(cluster).dns_state == "verifying"
    assert changes_told(world) == ["needs_verification", "started"]
    world.run()
    assert world.service(cluster).dns_state == "verified"
    assert changes_told(world) == ["needs_verification", "started", "verified"]


def test_a_verification_refreshes_the_active_endpoints_messages_once(
    world: World, slack: Slack
) -> None:
    cluster, endpoint, _ = at_dns_stage(world)
    world.create(endpoint)  # Create without private DNS: the host does not resolve yet
    world.run()
    slack.deliver()
    [alert] = slack.parents("Private endpoint #")
    assert "does not resolve yet" in json.dumps(slack.running.standin.replies(CHANNEL, alert["ts"]))

    request(world, cluster)
    for worker in ("worker-1", "worker-1", "worker-2", "worker-1"):
        world.run(worker=worker)
    assert world.service(cluster).dns_state == "verified"

    with world.sessions() as session:
        query = select(orm.Outbox).where(
            orm.Outbox.kind == "endpoint_update", orm.Outbox.private_endpoint_id == endpoint
        )
        rows = list(session.scalars(query.order_by(orm.Outbox.id)))
    refreshed = [r for r in rows if "Private DNS verified" in r.payload["text"]]
    assert len(refreshed) == 1
    host = "orders.us-west-2.privatelink.example.com"
    assert refreshed[0].payload["text"] == f"Private DNS verified: {host} now resolves."
    assert refreshed[0].payload["endpoint"]["dns_verified"] is True
    assert refreshed[0].payload["broadcast"] is False
    assert rows[-1].id == refreshed[0].id  # nothing else was told about the endpoint

    slack.deliver()
    [alert] = slack.parents("Private endpoint #")
    last = slack.running.standin.replies(CHANNEL, alert["ts"])[-1]
    assert "now resolves" in json.dumps(last) and "does not resolve" not in json.dumps(last)
