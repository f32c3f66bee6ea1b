"""One bot, two workspaces, installed by OAuth: each walks `/private-endpoint create` to Active
with its own token, neither sees or touches the other's endpoints, and an uninstall holds one
workspace's posts (and only its) until it installs the app again.

The bot runs as `serve` does (Bolt's install flow, the gate, the worker), against the Slack
stand-in (two workspaces, `oauth.v2.access`, calls kept apart by token), the local AWS and the
test database; people act only through signed requests and the install pages over HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.config import Settings
from bot.domain.states import EndpointStatus
from bot.server import assemble, http_in_background
from bot.services import clusters, projects
from bot.storage import orm, outbox_queries, project_queries
from bot.storage.db import make_sessionmaker, transaction
from bot.worker.runner import start_worker
from sandbox import demo
from sandbox.aws import (
    credentials_for_account,
    provider_credentials,
    seed_consumer_network,
    seed_provider_network,
)
from sandbox.demo_env import CONSUMER_ACCOUNT
from sandbox.demo_env import World as Walk
from sandbox.demo_support import Transcript, text_of, wait_until
from sandbox.person import Person
from sandbox.slack.workspace import TEAM_ID
from sandbox.slack_api import RunningStandIn, SlackStandIn, start
from sandbox.slack_client import (
    SlackRequestClient,
    app_home_opened_payload,
    app_uninstalled_payload,
    member_joined_channel_payload,
)
from tests.oauth_helpers import install, oauth_settings
from tests.slack.conftest import SECRET
from tests.slack.test_serve import free_port

REGION = "us-west-2"
ZONE = "privatelink.example.com"
CHANNEL = "C0SHARED01"  # the same channel id in both workspaces: only the team tells them apart
TEAM_A, TEAM_B = TEAM_ID, "T0SECOND02"


@dataclass
class Tenant:
    """One workspace: its project, its people, its AWS account."""

    team: str
    project: str
    owner: Person
    walk: Walk


@dataclass
class Bot:
    url: str
    slack: RunningStandIn
    client: SlackRequestClient
    engine: Engine
    tenants: dict[str, Tenant]


@pytest.fixture
def bot(
    clean_database: str, db_engine: Engine, aws_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Bot]:
    provider = provider_credentials()
    for name, value in {"AWS_ENDPOINT_URL": aws_url, "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    for name, value in provider.env().items():
        monkeypatch.setenv(name, value)
    standin = SlackStandIn(trigger_ttl=None)
    standin.add_workspace(TEAM_B, name="Second")
    with ExitStack() as stack:
        _, running = start(standin)
        stack.callback(running.stop)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = oauth_settings(
            running, url, clean_database, BOT_RECONCILE_INTERVAL=0.3, BOT_PRIVATE_DNS_ZONE=ZONE
        )
        client = SlackRequestClient(url, signing_secret=SECRET)
        tenants = {
            team: _tenant(team, name, db_engine, running, client, settings, aws_url)
            for team, name in ((TEAM_A, "alpha"), (TEAM_B, "beta"))
        }
        served = assemble(settings)
        stack.callback(served.engine.dispose)
        worker = start_worker(settings=settings, sessions=served.deps.sessions)
        stack.callback(worker.stop)
        stack.enter_context(http_in_background(served, port=port))
        yield Bot(url, running, client, db_engine, tenants)


def _tenant(
    team: str,
    name: str,
    engine: Engine,
    slack: RunningStandIn,
    client: SlackRequestClient,
    settings: Settings,
    aws_url: str,
) -> Tenant:
    """A project bound to CHANNEL in `team`, with a cluster "orders" on an NLB of its own, and
    the owner's AWS account with a VPC in the NLB's zones."""
    owner, member = f"U0{name.upper()}OWN", f"U0{name.upper()}MEM"
    slack.standin.add_channel(CHANNEL, name="databases", team=team)
    for user in (owner, member):
        slack.standin.add_user(user, team=team)
    provider = provider_credentials()
    network = seed_provider_network(
        ec2=provider.ec2(region=REGION), elbv2=provider.elbv2(region=REGION), cluster_name=name
    )
    with transaction(make_sessionmaker(engine)) as session:
        projects.add(session=session, name=name, channel_id=CHANNEL, owners=[owner], team_id=team)
        spec = {
            "project": name,
            "name": "orders",
            "tier": "dedicated",
            "cloud": "aws",
            "region": REGION,
            "nlb_arn": network.nlb_arn,
            "private_dns_host": f"orders.{name}.{REGION}.{ZONE}",
        }
        clusters.add(session=session, spec=clusters.parse_spec(spec, dns_zone=ZONE))
    consumer = credentials_for_account(account_id=CONSUMER_ACCOUNT, endpoint_url=aws_url)
    vpc = seed_consumer_network(ec2=consumer.ec2(region=REGION), covered_az_ids=network.az_ids)
    person = Person(user_id=owner, channel_id=CHANNEL, client=client, slack=slack, team_id=team)
    walk = Walk(
        owner=person,
        member=Person(user_id=member, channel_id=CHANNEL, client=client, slack=slack, team_id=team),
        consumer_env={**os.environ, **consumer.env(), "AWS_ENDPOINT_URL": aws_url},
        vpc_id=vpc.vpc_id,
        subnet_ids=vpc.subnet_ids,
        settings=settings,
    )
    return Tenant(team=team, project=name, owner=person, walk=walk)


def _endpoint(engine: Engine, project: str) -> orm.PrivateEndpoint | None:
    with make_sessionmaker(engine)() as session:
        query = (
            select(orm.PrivateEndpoint)
            .join(orm.Project, orm.Project.id == orm.PrivateEndpoint.project_id)
            .where(orm.Project.name == project)
        )
        return session.scalars(query).first()


def _status(engine: Engine, project: str) -> str | None:
    endpoint = _endpoint(engine, project)
    return None if endpoint is None else str(endpoint.status)


def _walk_to_active(bot: Bot, tenant: Tenant) -> None:
    transcript = Transcript(print)
    assert demo.wizard(tenant.walk, transcript), transcript.failed
    active = EndpointStatus.ACTIVE.value
    assert wait_until(lambda: _status(bot.engine, tenant.project) == active or None, timeout=30)
    alert = wait_until(lambda: demo._broadcast(tenant.walk, "mysql"), timeout=15)
    assert alert is not None and f"orders.{tenant.project}." in text_of(alert)


def _calls_carry_own_tokens(slack: RunningStandIn, issued: dict[str, set[str]]) -> None:
    for team, tokens in issued.items():
        calls = [c for c in slack.standin.calls(team=team) if c.token is not None]
        assert calls, team
        assert {c.token for c in calls} <= tokens, team


def test_two_workspaces_install_walk_to_active_and_stay_apart(bot: Bot) -> None:
    slack = bot.slack.standin
    a, b = bot.tenants[TEAM_A], bot.tenants[TEAM_B]

    _refused(a.owner)  # not installed yet: Bolt's answer, nothing written
    before = {team: set(slack.tokens(team)) for team in (TEAM_A, TEAM_B)}
    for team in (TEAM_A, TEAM_B):
        install(bot, team)
    issued = {team: set(slack.tokens(team)) - before[team] for team in (TEAM_A, TEAM_B)}
    assert all(issued.values()) and not issued[TEAM_A] & issued[TEAM_B]

    for tenant in (a, b):
        _walk_to_active(bot, tenant)
    _calls_carry_own_tokens(bot.slack, issued)

    # A's owner sees A's endpoint only, and cannot act on B's by its ids.
    mine, theirs = _endpoint(bot.engine, a.project), _endpoint(bot.engine, b.project)
    assert mine is not None and theirs is not None
    listed = a.owner.command("list").text
    assert f"#{mine.id}" in listed and f"#{theirs.id}" not in listed
    for verb in ("terminate", "edit"):
        answer = a.owner.command(f"{verb} {theirs.id}").text
        assert "not found" in answer.lower() or "no private endpoint" in answer.lower(), answer
    prompt = b.owner.command(f"terminate {theirs.id}").json()  # B's own confirmation prompt…
    message = {"ts": "1700000000.000100", "text": prompt["text"], "blocks": prompt["blocks"]}
    assert a.owner.click_in_message(message, "terminate_confirmed").status == 200  # …A presses
    bot.client.send_event(app_home_opened_payload(user_id=a.owner.user_id, team_id=TEAM_A))
    home = wait_until(lambda: slack.home_view(a.owner.user_id, team=TEAM_A))
    assert home is not None and "alpha" in text_of(home) and "beta" not in text_of(home)
    assert _status(bot.engine, b.project) == EndpointStatus.ACTIVE.value

    # A uninstalls: its tokens go; B goes on; A's alert waits, held, and is sent once on return.
    slack.uninstall(TEAM_A)
    assert bot.client.send_event(app_uninstalled_payload(team_id=TEAM_A)).status == 200
    assert slack.tokens(TEAM_A) == []
    for tenant in (a, b):
        _reject_connection(bot, tenant)
    failed = EndpointStatus.FAILED.value
    for tenant in (a, b):
        assert wait_until(lambda t=tenant: _status(bot.engine, t.project) == failed or None)
    assert wait_until(lambda: _reply_count(b, "rejected") == 1 or None, timeout=15)
    assert wait_until(lambda: _held(bot, TEAM_A) or None, timeout=15)
    assert _reply_count(a, "rejected") == 0
    _refused(a.owner)  # no install, no answer

    install(bot, TEAM_A)
    slack.invite_bot(CHANNEL, team=TEAM_A)  # an uninstall took the bot out of its channels
    bot_user = slack.team(TEAM_A).bot_user_id
    joined = member_joined_channel_payload(channel=CHANNEL, user_id=bot_user, team_id=TEAM_A)
    assert bot.client.send_event(joined).status == 200
    assert wait_until(lambda: _reply_count(a, "rejected") == 1 or None, timeout=30)
    assert not _held(bot, TEAM_A)
    issued[TEAM_A] |= set(slack.tokens(TEAM_A))
    _calls_carry_own_tokens(bot.slack, issued)
    assert _reply_count(a, "rejected") == 1 and _reply_count(b, "rejected") == 1


def _refused(person: Person) -> None:
    """The person's workspace has no install: Bolt's note (through `response_url`) says to
    install the app again, and the command is not run."""
    slack = person.slack.standin
    before = len(slack.calls("response_url"))
    answer = person.command("list")
    assert answer.status == 200 and answer.text == ""
    note = slack.wait_for("response_url", count=before + 1)[-1]
    assert "reinstall" in str(note.args.get("text", "")).lower(), note.args


def _reject_connection(bot: Bot, tenant: Tenant) -> None:
    """The provider's side rejects the tenant's endpoint connection on AWS."""
    endpoint = _endpoint(bot.engine, tenant.project)
    assert endpoint is not None and endpoint.vpce_id is not None
    ec2 = provider_credentials().ec2(region=REGION)
    connections = ec2.describe_vpc_endpoint_connections()["VpcEndpointConnections"]
    mine = [c for c in connections if c["VpcEndpointId"] == endpoint.vpce_id]
    assert len(mine) == 1
    ec2.reject_vpc_endpoint_connections(
        ServiceId=mine[0]["ServiceId"], VpcEndpointIds=[mine[0]["VpcEndpointId"]]
    )


def _reply_count(tenant: Tenant, word: str) -> int:
    slack = tenant.owner.slack.standin
    total = 0
    for parent in demo._parents(tenant.walk):
        replies = slack.replies(CHANNEL, parent["ts"], team=tenant.team)
        total += sum(1 for r in replies if word in text_of(r))
    return total


def _held(bot: Bot, team: str) -> bool:
    with make_sessionmaker(bot.engine)() as session:
        rows: list[Any] = outbox_queries.list_held_and_dead(session=session)
        return any(r.team_id == team and r.held_at is not None for r in rows)


def test_a_user_in_two_workspaces_sees_each_ones_projects_on_its_home(bot: Bot) -> None:
    """Slack user ids can repeat across workspaces (Enterprise Grid): the Home tab of one is
    that workspace's projects only."""
    slack = bot.slack.standin
    for team in (TEAM_A, TEAM_B):
        install(bot, team)
    both = "U0BOTHTEAMS"
    with transaction(make_sessionmaker(bot.engine)) as session:
        for name in ("alpha", "beta"):
            project = project_queries.get_project_by_name(session=session, name=name)
            assert project is not None
            project_queries.add_member(session=session, project=project, user_id=both)
    for team, mine, theirs in ((TEAM_A, "alpha", "beta"), (TEAM_B, "beta", "alpha")):
        slack.add_user(both, team=team)
        bot.client.send_event(app_home_opened_payload(user_id=both, team_id=team))
        home = wait_until(lambda t=team: slack.home_view(both, team=t))
        assert home is not None and mine in text_of(home) and theirs not in text_of(home)
