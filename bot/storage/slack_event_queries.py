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

from sqlalchemy import delete
from sqlalchemy.orm import Session

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


def claim(
    *, session: Session, event_id: str, team_id: str | None, now: datetime, done: bool = False
) -> Claim:
    """Take the event for this delivery if it is free (never seen, or abandoned); `done`: and
    mark it done at once (a listener with nothing to do before its ack, whose finish would
    follow with nothing between). Two deliveries racing to insert it: the loser's transaction
    fails on the key and, rerun (`bot.storage.db.run_in_transaction`), finds the winner's row."""
    seen = session.get(SlackEvent, event_id, with_for_update=True)
    done_at = now if done else None
    if seen is None:
        session.execute(delete(SlackEvent).where(SlackEvent.received_at < now - KEPT_FOR))
        session.add(
            SlackEvent(event_id=event_id, team_id=team_id, received_at=now, done_at=done_at)
        )
        session.flush()
        return Claim.TAKEN
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
