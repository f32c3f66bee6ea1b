"""The Events API callbacks taken in (`bot.storage.slack_event_queries`), on SQLite and
Postgres: the first delivery of an event claims it, later ones are told it was seen; a failed
one gives it back; an abandoned claim is taken again; a day-old event is forgotten."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from threading import Barrier

import pytest
from sqlalchemy import Engine, func, select

from bot.storage.db import make_sessionmaker, run_in_transaction
from bot.storage.slack_event_queries import (
    ABANDONED_AFTER,
    KEPT_FOR,
    Claim,
    claim,
    finish,
    release,
)
from bot.storage.slack_tables import SlackEvent

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.usefixtures("clean_database")


def test_a_finished_event_is_seen_by_every_later_delivery(db_engine: Engine) -> None:
    sessions = make_sessionmaker(db_engine)
    take = lambda now: run_in_transaction(  # noqa: E731
        sessions, lambda s: claim(session=s, event_id="Ev01", team_id="T01", now=now)
    )
    assert take(NOW) is Claim.TAKEN
    run_in_transaction(sessions, lambda s: finish(session=s, event_id="Ev01", now=NOW))
    assert take(NOW + timedelta(seconds=1)) is Claim.DONE
    assert take(NOW + ABANDONED_AFTER * 10) is Claim.DONE, "a finished event is never taken again"


def test_an_event_claimed_done_is_seen_by_every_later_delivery(db_engine: Engine) -> None:
    """A listener with nothing to do before its ack claims its event done, in one transaction
    (the Home tab), also when it takes over an abandoned claim."""
    sessions = make_sessionmaker(db_engine)
    take = lambda event, now, done=True: run_in_transaction(  # noqa: E731
        sessions, lambda s: claim(session=s, event_id=event, team_id="T01", now=now, done=done)
    )
    assert take("Ev05", NOW) is Claim.TAKEN
    assert take("Ev05", NOW + timedelta(seconds=1)) is Claim.DONE
    assert take("Ev05", NOW + ABANDONED_AFTER * 10) is Claim.DONE
    assert take("Ev06", NOW, done=False) is Claim.TAKEN  # then its process died
    assert take("Ev06", NOW + ABANDONED_AFTER * 2) is Claim.TAKEN
    assert take("Ev06", NOW + ABANDONED_AFTER * 2 + timedelta(seconds=1)) is Claim.DONE


def test_a_claim_in_progress_is_seen_and_an_abandoned_one_taken_again(db_engine: Engine) -> None:
    sessions = make_sessionmaker(db_engine)
    take = lambda now: run_in_transaction(  # noqa: E731
        sessions, lambda s: claim(session=s, event_id="Ev02", team_id=None, now=now)
    )
    assert take(NOW) is Claim.TAKEN
    assert take(NOW + ABANDONED_AFTER / 2) is Claim.IN_FLIGHT, (
        "the first delivery still works on it"
    )
    assert take(NOW + ABANDONED_AFTER + timedelta(seconds=1)) is Claim.TAKEN, "its process died"
    assert take(NOW + ABANDONED_AFTER + timedelta(seconds=2)) is Claim.IN_FLIGHT


def test_a_released_claim_lets_the_next_delivery_act(db_engine: Engine) -> None:
    sessions = make_sessionmaker(db_engine)
    take = lambda: run_in_transaction(  # noqa: E731
        sessions, lambda s: claim(session=s, event_id="Ev03", team_id="T01", now=NOW)
    )
    assert take() is Claim.TAKEN
    run_in_transaction(sessions, lambda s: release(session=s, event_id="Ev03"))
    assert take() is Claim.TAKEN
    run_in_transaction(sessions, lambda s: finish(session=s, event_id="Ev03", now=NOW))
    run_in_transaction(sessions, lambda s: release(session=s, event_id="Ev03"))
    assert take() is Claim.DONE, "a finished event is not given back"


def test_events_older_than_a_day_are_forgotten_as_new_ones_come(db_engine: Engine) -> None:
    sessions = make_sessionmaker(db_engine)
    for index in range(3):
        run_in_transaction(
            sessions,
            lambda s, i=index: claim(session=s, event_id=f"Ev1{i}", team_id=None, now=NOW),
        )
    later = NOW + KEPT_FOR + timedelta(seconds=1)
    run_in_transaction(
        sessions, lambda s: claim(session=s, event_id="Ev20", team_id=None, now=later)
    )
    with sessions() as session:
        assert session.scalars(select(SlackEvent.event_id)).all() == ["Ev20"]


def test_deliveries_racing_for_one_event_leave_one_winner(db_engine: Engine) -> None:
    sessions = make_sessionmaker(db_engine)
    start = Barrier(4)

    def take(_: int) -> Claim:
        start.wait()
        return run_in_transaction(
            sessions, lambda s: claim(session=s, event_id="Ev30", team_id="T01", now=NOW)
        )

    with ThreadPoolExecutor(4) as pool:
        won = list(pool.map(take, range(4)))
    assert sorted(won) == sorted([Claim.TAKEN] + [Claim.IN_FLIGHT] * 3)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(SlackEvent)) == 1
