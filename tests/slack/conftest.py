"""The bot served over HTTP against the local Slack stand-in and a seeded database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.domain.states import Cloud, ClusterStatus, Tier
from bot.server import assemble, http_in_background
from bot.services import clusters, projects
from bot.storage.db import make_sessionmaker, transaction
from sandbox.person import Person
from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn, SlackStandIn, start
from sandbox.slack_client import SlackRequestClient
from tests.aws_fixtures import unused_loopback_url

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0PAYMENTS"
OWNER = "U0OWNER01"
MEMBER = "U0MEMBER1"
NLB = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/net/orders/0123456789abcdef"


@dataclass
class World:
    url: str
    slack: RunningStandIn
    sessions: sessionmaker[Session]
    client: SlackRequestClient

    def person(self, user_id: str = OWNER, channel_id: str = CHANNEL) -> Person:
        """A user of the workspace, typing in `channel_id`."""
        return Person(user_id=user_id, channel_id=channel_id, client=self.client, slack=self.slack)


def seed(sessions: sessionmaker[Session]) -> None:
    """Project payments with one cluster of each kind."""
    with transaction(sessions) as session:
        projects.add(session=session, name="payments", channel_id=CHANNEL, owners=[OWNER])
        for name, tier, cloud, status, region in [
            ("orders", Tier.DEDICATED, Cloud.AWS, ClusterStatus.ACTIVE, "us-west-2"),
            ("ledger", Tier.DEDICATED, Cloud.AWS, ClusterStatus.ACTIVE, "us-west-2"),
            ("analytics", Tier.DEDICATED, Cloud.GCP, ClusterStatus.ACTIVE, "us-east-1"),
            ("sandbox", Tier.DEVELOPER, Cloud.AWS, ClusterStatus.ACTIVE, "us-west-2"),
            ("fresh", Tier.DEDICATED, Cloud.AWS, ClusterStatus.CREATING, "us-west-2"),
        ]:
            spec = clusters.parse_spec(
                {
                    "project": "payments",
                    "name": name,
                    "tier": tier,
                    "cloud": cloud,
                    "region": region,
                    "status": status,
                    "nlb_arn": NLB.replace("us-west-2", region) if cloud is Cloud.AWS else None,
                },
                dns_zone="privatelink.example.com",
            )
            clusters.add(session=session, spec=spec)


@pytest.fixture
def standin() -> Iterator[RunningStandIn]:
    """The Slack stand-in on a free port, trigger ids that never expire."""
    _, running = start(SlackStandIn(trigger_ttl=None))
    yield running
    running.stop()


@pytest.fixture
def world(
    clean_database: str, db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    """The running bot, the stand-in as Slack, and a seeded project. Its AWS is a port nobody
    listens on (with made-up keys): an answer that reads AWS (`doctor`) gets a quick refusal,
    never a call to the real AWS (tests/slack/test_doctor.py runs it against the local AWS)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", unused_loopback_url())
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    _, running = start(SlackStandIn(trigger_ttl=None))
    settings = Settings(
        SLACK_BOT_TOKEN=DEFAULT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,  # type: ignore[arg-type]
        SLACK_API_URL=running.api_url,
        DATABASE_URL=clean_database,  # type: ignore[arg-type]
    )
    sessions = make_sessionmaker(db_engine)
    seed(sessions)
    bot = assemble(settings)
    with http_in_background(bot) as url:
        yield World(
            url=url,
            slack=running,
            sessions=sessions,
            client=SlackRequestClient(url, signing_secret=SECRET),
        )
    bot.engine.dispose()
    running.stop()
