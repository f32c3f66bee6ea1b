"""Every event the bot handles acts once per `event_id`, however Slack delivers it again:
retried (`X-Slack-Retry-Num`), delivered again at once, or retried after the state it would
act on has changed. Signed Events API callbacks into the running bot, the Slack stand-in as
Slack, on SQLite and Postgres."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.event import listen, remove
from sqlalchemy.orm import Session

from bot.storage import slack_event_queries
from bot.storage.db import run_in_transaction
from bot.storage.slack_event_queries import Claim
from bot.storage.slack_tables import SlackEvent
from bot.storage.types import utcnow
from sandbox.slack_api import DEFAULT_TOKEN
from sandbox.slack_client import Delivery, app_home_opened_payload, member_joined_channel_payload
from tests.slack.conftest import CHANNEL, OWNER, World
from tests.slack.test_held_alerts import FAST, held, send_passes
from tests.worker.test_outbox import TO_ACTIVE, drain, move, new_endpoint, rows


def publishes(world: World, *, settle: float = 0.5) -> int:
    """How many Home pages the bot has published, once its lazy halves had time to run."""
    time.sleep(settle)
    return len(world.slack.standin.calls("views.publish"))


def opened(event_id: str) -> dict[str, object]:
    """The owner opens the Home tab, where Slack shows a page older than the bot's: each such
    event, acted on, publishes the page again."""
    return app_home_opened_payload(user_id=OWNER, event_id=event_id, view=STALE_PAGE)


STALE_PAGE = {"id": "V0HOME0001", "type": "home", "hash": "1700000000.stale"}


def test_a_retried_home_opened_publishes_one_page(world: World) -> None:
    first = opened("Ev0HOME00001")
    assert world.client.send_event(first).status == 200
    world.slack.standin.wait_for("views.publish")

    for retry in (1, 2, 3):
        assert world.client.send_event(first, delivery=Delivery.retry(retry)).status == 200
    assert publishes(world) == 1

    assert world.client.send_event(opened("Ev0HOME00002")).status == 200
    world.slack.standin.wait_for("views.publish", count=2)  # a new event acts


def test_one_event_delivered_four_times_at_once_acts_once(world: World) -> None:
    event = opened("Ev0HOME00003")
    deliveries = [Delivery(), *(Delivery.retry(n) for n in (1, 1, 2))]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda d: world.client.send_event(event, delivery=d), deliveries))
    assert [a.status for a in answers] == [200] * 4
    world.slack.standin.wait_for("views.publish")
    assert publishes(world) == 1


def test_a_join_retried_after_the_bot_left_again_releases_nothing(world: World) -> None:
    """The bot is invited (its posts go out), removed again (new posts held), and then Slack's
    retry of the first join arrives: the posts stay held until the bot really joins again."""
    slack = world.slack.standin
    slack.add_channel(CHANNEL, bot_member=False)
    client = WebClient(token=DEFAULT_TOKEN, base_url=world.slack.api_url)
    endpoint_id = new_endpoint(world.sessions, name="billing")
    for event, values in TO_ACTIVE[:2]:
        move(world.sessions, endpoint_id, event, **values)
    send_passes(world, client, 4)
    assert held(rows(world.sessions))

    slack.invite_bot(CHANNEL)
    joined = member_joined_channel_payload(channel=CHANNEL, inviter=OWNER, event_id="Ev0JOIN00001")
    assert world.client.send_event(joined).status == 200
    assert held(rows(world.sessions)) == []
    drain(world.sessions, client, policy=FAST)

    slack.invite_bot(CHANNEL, member=False)  # removed from the channel
    for event, values in TO_ACTIVE[2:]:
        move(world.sessions, endpoint_id, event, **values)
    send_passes(world, client, 4)
    still = held(rows(world.sessions))
    assert still

    assert world.client.send_event(joined, delivery=Delivery.retry(1)).status == 200
    assert held(rows(world.sessions)) == still, "a retried join released nothing"

    slack.invite_bot(CHANNEL)
    again = member_joined_channel_payload(channel=CHANNEL, inviter=OWNER, event_id="Ev0JOIN00002")
    assert world.client.send_event(again).status == 200
    assert held(rows(world.sessions)) == []


def claimed_elsewhere(world: World, event_id: str, *, then: str) -> threading.Thread:
    """Another delivery of the event is acting on it (its fresh claim); half a second later it
    gives its claim back (`then="release"`: its work failed) or finishes (`"finish"`)."""

    def claim(session: Session) -> Claim:
        return slack_event_queries.claim(
            session=session, event_id=event_id, team_id=None, now=utcnow()
        )

    def end(session: Session) -> None:
        if then == "release":
            slack_event_queries.release(session=session, event_id=event_id)
        else:
            slack_event_queries.finish(session=session, event_id=event_id, now=utcnow())

    assert run_in_transaction(world.sessions, claim) is Claim.TAKEN
    other = threading.Timer(0.5, lambda: run_in_transaction(world.sessions, end))
    other.start()
    return other


def test_a_retry_waits_for_the_delivery_in_flight_and_acts_when_that_one_failed(
    world: World,
) -> None:
    other = claimed_elsewhere(world, "Ev0HOME00010", then="release")
    started = time.monotonic()
    answer = world.client.send_event(opened("Ev0HOME00010"), delivery=Delivery.retry(1))
    other.join()
    assert answer.status == 200 and time.monotonic() - started < 2.5
    world.slack.standin.wait_for("views.publish")
    assert publishes(world) == 1


def test_a_retry_waits_for_the_delivery_in_flight_and_does_nothing_once_it_is_done(
    world: World,
) -> None:
    other = claimed_elsewhere(world, "Ev0HOME00011", then="finish")
    answer = world.client.send_event(opened("Ev0HOME00011"), delivery=Delivery.retry(1))
    other.join()
    assert answer.status == 200
    assert publishes(world) == 0


def test_the_home_tab_is_acked_before_its_event_is_claimed(world: World) -> None:
    """The Home tab has nothing to do before its ack: the request's thread (waitress's) runs no
    statement, and the lazy half claims the event, then publishes."""
    threads: list[str] = []

    def note(*_: object) -> None:
        threads.append(threading.current_thread().name)

    listen(Engine, "before_cursor_execute", note)  # the bot's engine, whichever it is
    try:
        assert world.client.send_event(opened("Ev0HOME00009")).status == 200
        world.slack.standin.wait_for("views.publish")
    finally:
        remove(Engine, "before_cursor_execute", note)
    assert threads, "the lazy half claimed the event and read the page"
    assert not [name for name in threads if name.startswith("waitress")], threads
    with world.sessions() as session:
        assert session.get(SlackEvent, "Ev0HOME00009") is not None, "claimed"
