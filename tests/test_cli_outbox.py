"""Issue 15's command line for Slack set-up slips, as processes: `projects add` warns when the
bot cannot post in the channel; `outbox list` shows what is held or given up on and why;
`outbox retry` sends it again, in order."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.db import make_sessionmaker
from bot.worker.outbox import SendPolicy, send_due
from sandbox.slack_api import DEFAULT_TOKEN, RunningStandIn, SlackStandIn, start
from tests.worker.test_outbox import TO_ACTIVE, drain, move, new_endpoint, rows

FAST = SendPolicy(spacing=0.0, backoff_base=0.01)
PAYMENTS, BILLING = "C0PAYMENTS", "C0BILLING"


@pytest.fixture
def running() -> Iterator[RunningStandIn]:
    _, running = start(SlackStandIn(trigger_ttl=None))
    yield running
    running.stop()


def run(url: str, *args: str, slack: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env["DATABASE_URL"] = url
    if slack is not None:
        env |= {"SLACK_BOT_TOKEN": DEFAULT_TOKEN, "SLACK_API_URL": slack}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, check=False
    )


def ok(url: str, *args: str, slack: str | None = None) -> subprocess.CompletedProcess[str]:
    result = run(url, *args, slack=slack)
    assert result.returncode == 0, result.stderr
    return result


def test_projects_add_warns_when_the_bot_cannot_post_in_the_channel(
    clean_database: str, running: RunningStandIn
) -> None:
    slack, api = running.standin, running.api_url
    slack.add_channel("C0NOBOT01", bot_member=False)
    slack.add_channel("G0SECRET1", is_private=True, bot_member=False)

    added = ok(clean_database, "projects", "add", "payments", "--channel", "C0NOBOT01", slack=api)
    assert "added project payments (channel C0NOBOT01)" in added.stdout
    assert added.stderr.strip() == (
        "warning: the bot is not a member of the channel (C0NOBOT01): invite it: in the "
        "channel, type /invite @privatelink-bot. The project is bound; its messages wait "
        "until the bot can post there."
    )
    private = ok(clean_database, "projects", "add", "secrets", "--channel", "G0SECRET1", slack=api)
    assert "warning: the bot cannot see the channel" in private.stderr
    assert "for a private channel, invite the bot there (/invite @privatelink-bot)" in (
        private.stderr
    )
    member = ok(clean_database, "projects", "add", "billing", "--channel", "C0WITHBOT", slack=api)
    assert member.stderr == ""
    unchecked = ok(clean_database, "projects", "add", "ledger", "--channel", "C0LEDGER1")
    assert "note: could not check" in unchecked.stderr
    assert "SLACK_BOT_TOKEN is not set" in unchecked.stderr
    assert [c.args["channel"] for c in slack.calls("conversations.info")] == [
        "C0NOBOT01",
        "G0SECRET1",
        "C0WITHBOT",
    ]
    listing = ok(clean_database, "projects", "list").stdout
    assert all(name in listing for name in ("payments", "secrets", "billing", "ledger"))


def held_and_dead(
    sessions: sessionmaker[Session], client: WebClient, slack: SlackStandIn
) -> tuple[int, list[int]]:
    """A row given up on in BILLING, then three rows in PAYMENTS (the bot not in it), held:
    the dead row's id, and the held ones'."""
    new_endpoint(sessions, channel=BILLING, name="ledger")
    slack.fail_next("chat.postMessage", error="invalid_blocks", times=3)
    for _ in range(40):
        if send_due(sessions=sessions, client=client, policy=FAST).dead:
            break
        time.sleep(0.03)
    (dead,) = rows(sessions)
    assert dead.dead_at is not None
    slack.add_channel(PAYMENTS, bot_member=False)
    endpoint_id = new_endpoint(sessions)
    for event, values in TO_ACTIVE[:2]:
        move(sessions, endpoint_id, event, **values)
    assert send_due(sessions=sessions, client=client, policy=FAST).held == 1
    return dead.id, [r.id for r in rows(sessions)[1:]]


def test_outbox_list_and_retry(
    clean_database: str, db_engine: Engine, running: RunningStandIn
) -> None:
    sessions = make_sessionmaker(db_engine)
    client = WebClient(token=DEFAULT_TOKEN, base_url=running.api_url)
    slack = running.standin
    dead, (head, *behind) = held_and_dead(sessions, client, slack)

    listing = ok(clean_database, "outbox", "list").stdout.splitlines()
    assert listing[0].split() == ["ID", "STATE", "CHANNEL", "KIND", "THREAD", "ATTEMPTS"] + [
        "SINCE",
        "WHY",
    ]
    table = {int(line.split()[0]): line.split(maxsplit=7) for line in listing[1:-1]}
    assert set(table) == {dead, head, *behind}
    assert table[dead][1:4] == ["dead", BILLING, "endpoint_update"]
    assert table[dead][4].startswith("endpoint:") and table[dead][5] == "3"
    assert table[dead][7] == "invalid_blocks"
    assert table[head][1:3] == ["held", PAYMENTS]
    assert table[head][7] == "not_in_channel: the bot is not a member of the channel"
    assert all(table[row][1] == "held" for row in behind)
    assert all(table[row][7] == f"waits for #{head}" for row in behind)
    assert listing[-1].startswith("3 held in 1 channel(s), 1 given up on.")

    released = ok(clean_database, "outbox", "retry", "--channel", PAYMENTS).stdout
    assert "released 1 held and 0 given-up notification(s) in C0PAYMENTS" in released
    assert all(r.held_at is None for r in rows(sessions))
    slack.invite_bot(PAYMENTS)
    drain(sessions, client, policy=FAST)
    assert all(r.sent_at is not None for r in rows(sessions) if r.id != dead)

    after = ok(clean_database, "outbox", "list").stdout.splitlines()
    assert [line.split()[:2] for line in after[1:-1]] == [[str(dead), "dead"]]
    assert after[-1].startswith("0 held in 0 channel(s), 1 given up on.")
    revived = ok(clean_database, "outbox", "retry").stdout
    assert "released 0 held and 1 given-up notification(s):" in revived
    drain(sessions, client, policy=FAST)
    assert all(r.sent_at is not None and r.dead_at is None for r in rows(sessions))
    assert "nothing is held or given up on" in ok(clean_database, "outbox", "list").stdout

    refused = run(clean_database, "outbox", "retry", "--channel", "general")
    assert refused.returncode == 1 and "not a Slack channel ID" in refused.stderr


def test_outbox_commands_have_help() -> None:
    for args in (["outbox", "--help"], ["outbox", "list", "--help"], ["outbox", "retry", "--help"]):
        result = run("sqlite://", *args)
        assert result.returncode == 0 and "usage:" in result.stdout
