"""Issue 15's "no alert lost to Slack set-up", on the sender's side: a channel Slack takes no
post in until a person acts is held, never given up on; its project's owners are told once, by
a direct message that says what to do; other channels go on; a held channel is tried again at
each re-check and delivered, in order and once, when it takes posts again."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import metrics
from bot.storage import project_queries
from bot.storage.db import make_sessionmaker, transaction
from bot.storage.types import utcnow
from bot.worker.outbox import SendPolicy, SendReport, send_due
from sandbox.slack_api import Call, RunningStandIn, SlackStandIn
from tests.worker.test_outbox import (
    CHANNEL,
    TO_ACTIVE,
    drain,
    move,
    new_endpoint,
    outbox_ids,
    posts,
    rows,
)

OWNERS = ["U0OWNER1", "U0OWNER2"]
FAST = SendPolicy(spacing=0.0, backoff_base=0.01)
QUICK_RECHECK = SendPolicy(spacing=0.0, backoff_base=0.01, recheck=0.3)


@pytest.fixture
def sessions(clean_database: str, db_engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(db_engine)


@pytest.fixture
def slack(running: RunningStandIn) -> SlackStandIn:
    return running.standin


def project_with_owners(sessions: sessionmaker[Session], channel: str = CHANNEL) -> None:
    with transaction(sessions) as session:
        project_queries.create_project(
            session=session, name="payments", channel_id=channel, team_id="T1", owners=OWNERS
        )


def alerts(sessions: sessionmaker[Session], *, moves: int = 3) -> int:
    """A private endpoint in CHANNEL and `moves` changes: 1 + `moves` outbox rows."""
    endpoint_id = new_endpoint(sessions)
    for event, values in TO_ACTIVE[:moves]:
        move(sessions, endpoint_id, event, **values)
    return endpoint_id


def passes(
    sessions: sessionmaker[Session], client: WebClient, count: int, policy: SendPolicy = FAST
) -> SendReport:
    total = SendReport()
    for _ in range(count):
        report = send_due(sessions=sessions, client=client, policy=policy)
        total.held += report.held
        total.sent += report.sent
        total.dead += report.dead
        time.sleep(0.05)
    return total


def posts_in(slack: SlackStandIn, channel: str, *, top_level: bool) -> list[Call]:
    """Successful chat.postMessage calls to `channel` (not the owners' direct messages)."""
    return [c for c in posts(slack, top_level=top_level) if c.args["channel"] == channel]


def dm_texts(slack: SlackStandIn, user: str) -> list[str]:
    return [str(m["blocks"]) for m in slack.direct_messages(user)]


def test_an_uninvited_bot_holds_the_channel_and_tells_each_owner_once(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    project_with_owners(sessions)
    slack.add_channel(CHANNEL, bot_member=False)
    alerts(sessions)
    new_endpoint(sessions, channel="C0BILLING", name="ledger")  # another channel, bot in it

    report = passes(sessions, client, 6)

    assert report.held == 1 and report.dead == 0
    held, *behind, other = rows(sessions)
    assert held.held_at is not None and held.dead_at is None and held.sent_at is None
    assert (held.last_error or "").startswith("not_in_channel: the bot is not a member")
    assert held.next_attempt_at > utcnow() + timedelta(seconds=FAST.recheck - 60)
    assert all(r.held_at is None and r.dead_at is None and r.sent_at is None for r in behind)
    assert other.sent_at is not None, "other channels go on"
    assert len(posts_in(slack, "C0BILLING", top_level=False)) == 1
    assert posts_in(slack, CHANNEL, top_level=True) == []
    for owner in OWNERS:
        (text,) = dm_texts(slack, owner)
        assert "/invite @privatelink-bot" in text and f"<#{CHANNEL}>" in text
        assert "*payments*" in text and "Nothing is lost" in text
    assert len(slack.calls("conversations.open")) == 2
    gauges = metrics.render(sessions)
    assert "privatelink_outbox_held 4" in gauges and "privatelink_outbox_dead 0" in gauges


def test_a_held_channel_is_tried_again_and_sent_in_order_once_it_takes_posts(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    project_with_owners(sessions)
    slack.add_channel(CHANNEL, bot_member=False)
    alerts(sessions)
    passes(sessions, client, 1, QUICK_RECHECK)
    (first,) = [r for r in rows(sessions) if r.held_at is not None]
    time.sleep(QUICK_RECHECK.recheck + 0.1)
    passes(sessions, client, 1, QUICK_RECHECK)  # still not invited: held again, not told again

    again = rows(sessions)[0]
    assert again.held_at == first.held_at and again.attempts == 2 and again.dead_at is None
    assert all(len(slack.direct_messages(owner)) == 1 for owner in OWNERS)

    slack.invite_bot(CHANNEL)  # and the event is missed: the re-check finds it out
    time.sleep(QUICK_RECHECK.recheck + 0.1)
    drain(sessions, client, policy=QUICK_RECHECK)

    sent = rows(sessions)
    assert all(r.sent_at is not None and r.held_at is None for r in sent)
    replies = outbox_ids(posts_in(slack, CHANNEL, top_level=False))
    assert replies == [r.id for r in sent], "in order, once"
    assert len(posts_in(slack, CHANNEL, top_level=True)) == 1
    assert all(len(slack.direct_messages(owner)) == 1 for owner in OWNERS)


def test_an_archived_channel_is_held_and_the_owners_told_to_unarchive_it(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    project_with_owners(sessions)
    slack.add_channel(CHANNEL, is_archived=True)
    alerts(sessions, moves=1)
    assert passes(sessions, client, 3).held == 1

    assert (rows(sessions)[0].last_error or "").startswith("is_archived: the channel is archived")
    (text,) = dm_texts(slack, OWNERS[0])
    assert f"Unarchive <#{CHANNEL}>" in text
    assert f"python -m bot outbox retry --channel {CHANNEL}" in text


def test_a_private_channel_without_the_bot_is_held_as_not_found(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    project_with_owners(sessions)
    slack.add_channel(CHANNEL, is_private=True, bot_member=False)
    alerts(sessions, moves=1)
    assert passes(sessions, client, 3).held == 1

    assert (rows(sessions)[0].last_error or "").startswith("channel_not_found: the bot cannot")
    (text,) = dm_texts(slack, OWNERS[0])
    assert "is a private channel, type `/invite @privatelink-bot` in it" in text


def test_an_app_set_up_error_holds_at_once_and_says_to_reinstall(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    project_with_owners(sessions)
    alerts(sessions, moves=1)
    slack.fail_next("chat.postMessage", error="token_revoked")
    assert passes(sessions, client, 3).held == 1

    assert slack.calls("conversations.info") == [], "an app error says nothing of the channel"
    row = rows(sessions)[0]
    assert row.held_at is not None and (row.last_error or "").startswith("token_revoked: the app")
    (text,) = dm_texts(slack, OWNERS[0])
    assert "reinstall" in text and "SLACK_BOT_TOKEN" in text


def test_a_refusal_slack_does_not_confirm_is_no_hold(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    project_with_owners(sessions)
    alerts(sessions, moves=0)
    # chat.postMessage says not_in_channel, yet conversations.info says the bot is in it.
    slack.fail_next("chat.postMessage", error="not_in_channel", times=10)
    report = passes(sessions, client, 20)

    assert report.held == 0 and report.dead == 1
    (row,) = rows(sessions)
    assert row.held_at is None and row.last_error == "not_in_channel" and row.attempts == 3
    assert len(slack.calls("conversations.info")) == 3
    assert all(slack.direct_messages(owner) == [] for owner in OWNERS)


def test_a_project_without_owners_is_held_all_the_same(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> None:
    slack.add_channel(CHANNEL, bot_member=False)
    alerts(sessions, moves=1)  # new_endpoint's project has no owner
    assert passes(sessions, client, 3).held == 1
    assert slack.calls("conversations.open") == []
    assert rows(sessions)[0].held_at is not None
