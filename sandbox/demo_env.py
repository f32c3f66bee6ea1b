"""The demo's world: local AWS, Slack stand-in, a fresh SQLite file, and the bot with its worker."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.server import assemble, http_in_background
from bot.services import clusters, projects
from bot.storage import migrate
from bot.storage.db import make_engine, make_sessionmaker, transaction
from bot.worker.runner import start_worker
from sandbox.aws import (
    credentials_for_account,
    provider_credentials,
    seed_consumer_network,
    seed_provider_network,
    start_in_background,
)
from sandbox.person import Person
from sandbox.slack_api import DEFAULT_TOKEN, SlackStandIn, start
from sandbox.slack_client import SlackRequestClient

REGION = "us-west-2"
ZONE = "privatelink.example.com"
CHANNEL, OWNER, MEMBER = "C0DEMO0001", "U0DEMOOWNR", "U0DEMOMEMB"
CONSUMER_ACCOUNT = "210987654321"
SECRET = "demo-signing-secret-0123456789ab"
SERVICE_DELAY_SECONDS = 3.0
CLUSTERS = [
    {"name": "orders", "tier": "dedicated", "cloud": "aws", "region": REGION},
    {"name": "analytics", "tier": "dedicated", "cloud": "gcp", "region": "us-east-1"},
    {"name": "scratch", "tier": "developer", "cloud": "aws", "region": REGION},
]


@dataclass
class World:
    """The running pieces, and the user's own AWS account and VPC."""

    owner: Person
    member: Person
    consumer_env: dict[str, str]
    vpc_id: str
    subnet_ids: tuple[str, ...]
    settings: Settings
    instance_ids: tuple[str, ...] = ()  # the provider's, behind orders' load balancer


def _seed(database_url: str, nlb_arn: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with transaction(make_sessionmaker(engine)) as session:
        projects.add(session=session, name="payments", channel_id=CHANNEL, owners=[OWNER])
        for raw in CLUSTERS:
            arn = nlb_arn if raw["cloud"] == "aws" else None
            spec = {"project": "payments", **raw, "nlb_arn": arn}
            clusters.add(session=session, spec=clusters.parse_spec(spec, dns_zone=ZONE))
    engine.dispose()


@contextmanager
def world(workdir: Path) -> Iterator[World]:
    """Start everything; stop everything on exit, leaving nothing running."""
    with ExitStack() as stack:
        aws = stack.enter_context(
            start_in_background(service_delay=SERVICE_DELAY_SECONDS, dns_verified=False)
        )
        provider = provider_credentials()
        os.environ.update(
            {"AWS_ENDPOINT_URL": aws.url, "AWS_DEFAULT_REGION": REGION, **provider.env()}
        )
        network = seed_provider_network(
            ec2=provider.ec2(region=REGION),
            elbv2=provider.elbv2(region=REGION),
            cluster_name="orders",
        )
        consumer = credentials_for_account(account_id=CONSUMER_ACCOUNT, endpoint_url=aws.url)
        consumer_network = seed_consumer_network(
            ec2=consumer.ec2(region=REGION), covered_az_ids=network.az_ids
        )
        _, slack = start(SlackStandIn(trigger_ttl=None))
        stack.callback(slack.stop)
        database_url = f"sqlite:///{workdir / 'demo.db'}"
        _seed(database_url, network.nlb_arn)
        settings = Settings(
            SLACK_BOT_TOKEN=DEFAULT_TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=slack.api_url,
            DATABASE_URL=database_url,
            BOT_RECONCILE_INTERVAL=0.5,
            BOT_PRIVATE_DNS_ZONE=ZONE,
        )
        bot = assemble(settings)
        stack.callback(bot.engine.dispose)
        worker = start_worker(settings=settings, sessions=bot.deps.sessions)
        stack.callback(worker.stop)
        client = SlackRequestClient(
            stack.enter_context(http_in_background(bot)), signing_secret=SECRET
        )
        yield World(
            owner=Person(user_id=OWNER, channel_id=CHANNEL, client=client, slack=slack),
            member=Person(user_id=MEMBER, channel_id=CHANNEL, client=client, slack=slack),
            consumer_env={**os.environ, **consumer.env(), "AWS_ENDPOINT_URL": aws.url},
            vpc_id=consumer_network.vpc_id,
            subnet_ids=consumer_network.subnet_ids,
            settings=settings,
            instance_ids=network.instance_ids,
        )
