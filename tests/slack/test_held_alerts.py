"""Issue 15's "no alert lost to Slack set-up", end to end on the local Slack stand-in: the bot
not invited to the project's channel holds its alerts and tells the owner once what to do;
when the bot joins (Slack's signed `member_joined_channel` event), every held alert arrives
once, in order. A wizard started where the bot cannot post says so."""

from __future__ import annotations

import time
import urllib.request

from slack_sdk import WebClient

from bot.storage.orm import Outbox
from bot.worker.outbox import SendPolicy, send_due
from sandbox.slack_api import DEFAULT_TOKEN, Call
from sandbox.slack_client import member_joined_channel_payload
from tests.slack.conftest import CHANNEL, MEMBER, OWNER, World
from tests.worker.test_outbox import TO_ACTIVE, drain, move, new_endpoint, outbox_ids, rows

FAST = SendPolicy(spacing=0.0, backoff_base=0.01)


def send_passes(world: World, client: WebClient, count: int) -> None:
    for _ in range(count):
        send_due(sessions=world.sessions, client=client, policy=FAST)
        time.sleep(0.05)


def channel_posts(world: World, *, top_level: bool) -> list[Call]:
    return [
        c
        for c in world.slack.standin.calls("chat.postMessage")
        if c.ok and c.args["channel"] == CHANNEL and ("thread_ts" not in c.args) == top_level
    ]


def held(outbox: list[Outbox]) -> list[int]:
    return [r.id for r in outbox if r.held_at is not None]


def test_an_uninvited_bot_holds_the_alerts_tells_the_owner_once_then_delivers_them_in_order(
    world: World,
) -> None:
    slack = world.slack.standin
    slack.add_channel(CHANNEL, bot_member=False)
    client = WebClient(token=DEFAULT_TOKEN, base_url=world.slack.api_url)
    endpoint_id = new_endpoint(world.sessions, name="billing")
    for event, values in TO_ACTIVE:  # through to the Active alert: six notifications
        move(world.sessions, endpoint_id, event, **values)
    send_passes(world, client, 8)

    queued = rows(world.sessions)
    assert len(queued) == 6 and held(queued) == [queued[0].id]
    assert all(r.dead_at is None and r.sent_at is None for r in queued), "nothing dropped"
    assert slack.messages(CHANNEL) == []
    (told,) = slack.direct_messages(OWNER)
    assert "/invite @privatelink-bot" in str(told["blocks"]) and "payments" in told["text"]
    with urllib.request.urlopen(f"{world.url}/metrics") as answer:
        assert "privatelink_outbox_held 6" in answer.read().decode()

    # Someone else joining the channel changes nothing.
    other = world.client.send_event(member_joined_channel_payload(channel=CHANNEL, user_id=MEMBER))
    assert other.status == 200 and held(rows(world.sessions)) == [queued[0].id]

    slack.invite_bot(CHANNEL)
    joined = member_joined_channel_payload(channel=CHANNEL, inviter=OWNER)
    assert world.client.send_event(joined).status == 200
    assert held(rows(world.sessions)) == []
    drain(world.sessions, client, policy=FAST)

    sent = rows(world.sessions)
    assert all(r.sent_at is not None and r.dead_at is None for r in sent)
    assert outbox_ids(channel_posts(world, top_level=False)) == [r.id for r in sent]
    (parent,) = channel_posts(world, top_level=True)
    assert len(slack.replies(CHANNEL, parent.response["ts"])) == 6
    active = slack.messages(CHANNEL)[-1]
    assert active["subtype"] == "thread_broadcast" and "is active" in active["text"]
    assert len(slack.direct_messages(OWNER)) == 1, "told once"


def test_a_wizard_started_where_the_bot_is_not_says_to_invite_it(world: World) -> None:
    world.slack.standin.add_channel(CHANNEL, bot_member=False)
    world.person().open_wizard("create orders")

    [reply] = world.slack.standin.wait_for("response_url")
    assert reply.args["response_type"] == "ephemeral"
    assert "I am not a member of this channel" in reply.args["text"]
    assert "`/invite @privatelink-bot`" in reply.args["text"]


def test_a_wizard_in_a_private_channel_without_the_bot_says_to_invite_it(world: World) -> None:
    world.slack.standin.add_channel(CHANNEL, is_private=True, bot_member=False)
    world.person().open_wizard("create orders")

    [reply] = world.slack.standin.wait_for("response_url")
    assert "I cannot see this channel" in reply.args["text"]


def test_a_wizard_where_the_bot_can_post_says_nothing_more(world: World) -> None:
    world.person().open_wizard("create orders")
    [check] = world.slack.standin.wait_for("conversations.info")
    assert check.args["channel"] == CHANNEL and check.response["channel"]["is_member"] is True
    time.sleep(0.3)
    assert world.slack.standin.calls("response_url") == []
