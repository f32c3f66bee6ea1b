"""The Events API callbacks taken in (`slack_event`), by Slack's `event_id`: a retried event
acts once.

`claim` takes an event for its listener; the first delivery wins, and any later one (Slack's
retries, at once or after about 1 and 5 minutes) is told it was done, or is in flight. A
listener that failed `release`s its claim, so Slack's next delivery acts; one that finished
marks it `finish`ed. A claim left neither finished nor released for `ABANDONED_AFTER` (its
process died) may be taken again. Rows older than `KEPT_FOR`, well past Slack's last retry,
are deleted as new events come in.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import cast

from sqlalchemy import Table, bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.storage.slack_tables import SlackEvent

ABANDONED_AFTER = timedelta(seconds=30)
"""A claim this old and not finished was left by a process that died: the event acts again."""
KEPT_FOR = timedelta(days=1)
"""How long an event is remembered (Slack stops retrying after about 5 minutes)."""


class Claim(StrEnum):
    """What a delivery of an event finds."""

    TAKEN = "taken"  # never seen (or abandoned): this delivery acts on it
    IN_FLIGHT = "in_flight"  # another delivery is acting on it now
    DONE = "done"  # acted on already


_events = cast(Table, SlackEvent.__table__)
_INSERT_NEW = {
    name: dialect.insert(_events)
    .on_conflict_do_nothing(index_elements=[_events.c.event_id])
    .returning(_events.c.event_id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
"""The event's row if it has none (one statement, no error if it has: the common case is an
event never seen, and a retry's delivery is told so without a failed transaction)."""
_FORGET_BEFORE = delete(_events).where(_events.c.received_at < bindparam("before"))


def claim(
    *, session: Session, event_id: str, team_id: str | None, now: datetime, done: bool = False
) -> Claim:
    """Take the event for this delivery if it is free (never seen, or abandoned); `done`: and
    mark it done at once (a listener with nothing to do before its ack, whose finish would
    follow with nothing between). The row is inserted unless it is there (one statement); two
    deliveries racing to insert it: the loser's insert does nothing (on Postgres, once the
    winner committed) and it reads the winner's row."""
    done_at = now if done else None
    new = {"event_id": event_id, "team_id": team_id, "received_at": now, "done_at": done_at}
    connection = session.connection()
    if connection.execute(_INSERT_NEW[connection.dialect.name], new).first() is not None:
        connection.execute(_FORGET_BEFORE, {"before": now - KEPT_FOR})
        return Claim.TAKEN
    seen = session.get(SlackEvent, event_id, with_for_update=True)
    if seen is None:  # released between the insert and this read: taken on the next run
        raise StaleDataError(f"event {event_id} was released meanwhile")
    if seen.done_at is not None:
        return Claim.DONE
    if seen.received_at < now - ABANDONED_AFTER:
        seen.received_at, seen.done_at = now, done_at
        return Claim.TAKEN
    return Claim.IN_FLIGHT


def finish(*, session: Session, event_id: str, now: datetime) -> None:
    """The event's listener finished: later deliveries of it do nothing."""
    seen = session.get(SlackEvent, event_id)
    if seen is not None:
        seen.done_at = now


def release(*, session: Session, event_id: str) -> None:
    """The event's listener failed: Slack's next delivery of it acts."""
    session.execute(
        delete(SlackEvent).where(SlackEvent.event_id == event_id, SlackEvent.done_at.is_(None))
    )
