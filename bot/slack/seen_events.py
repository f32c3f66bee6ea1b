"""Events API callbacks act once per `event_id`, however often Slack delivers them.

Slack delivers an event again when the first delivery failed or took over 3 seconds (with
`X-Slack-Retry-Num`, after about 1 and 5 minutes), and the retry carries the first one's
`event_id`. `once_per_event` wraps an event listener: the event is claimed in the database
before its work (`bot.storage.slack_event_queries`); a delivery of an event done before is
acked and does nothing; work that fails gives its claim back and fails the delivery, so
Slack's retry does the work. A delivery that finds another still acting on its event waits
for it (up to `IN_FLIGHT_WAIT`): done, it is acked; given back, it does the work itself.
An event without a usable `event_id` acts as delivered. An event with nothing to do before its
ack (the Home tab) is acked at once and claimed, done, by its lazy half (`first_delivery`):
its ack waits for no database, and a retry (which follows only a failed or slow delivery)
finds the claim and does nothing.

When the database cannot say whether the event was seen (it is unreachable), the work runs
anyway: each listener's work is idempotent on its own, and fails the delivery itself if it
needs the database. Events older than the state they would undo are the listener's concern
(an `app_uninstalled` older than the latest install: `bot.slack.listeners.installs`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, BoltContext
from sqlalchemy.exc import SQLAlchemyError

from bot.slack.deps import Deps, log
from bot.storage import slack_event_queries
from bot.storage.db import is_unavailable
from bot.storage.slack_event_queries import Claim
from bot.storage.types import utcnow

Body = dict[str, Any]
Work = Callable[[Body, BoltContext], None]

EVENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
IN_FLIGHT_WAIT = 2.0
"""How long a delivery waits for another one acting on its event (inside Slack's 3 s)."""
IN_FLIGHT_POLL = 0.1


def event_id(body: Body) -> str | None:
    """The callback's `event_id`, if it is one the database can key on."""
    value = body.get("event_id")
    return value if isinstance(value, str) and EVENT_ID.fullmatch(value) else None


def once_per_event(deps: Deps, work: Work) -> Callable[[Ack, Body, BoltContext], None]:
    """An event listener that runs `work` (before the ack) once per event."""

    def on_event(ack: Ack, body: Body, context: BoltContext) -> None:
        key = event_id(body)
        if key is not None and not _claimed(deps, key, body, done=False):
            log.info("event %s was seen before: nothing done", key)
            ack()
            return
        try:
            work(body, context)
        except BaseException:
            if key is not None:
                _release(deps, key)
            raise
        if key is not None:
            _finish(deps, key)
        ack()

    on_event.__name__ = on_event.__qualname__ = getattr(work, "__name__", "on_event")
    return on_event


def first_delivery(deps: Deps, body: Body) -> bool:
    """Whether this delivery of an event whose work all runs after the ack acts on it: called
    from that lazy half, it claims the event done at once (a retry finds it so)."""
    key = event_id(body)
    if key is None or _claimed(deps, key, body, done=True):
        return True
    log.info("event %s was seen before: nothing done", key)
    return False


def _claimed(deps: Deps, key: str, body: Body, *, done: bool) -> bool:
    """Whether this delivery acts on the event: it took it, or the delivery acting on it
    gave it back within `IN_FLIGHT_WAIT` (its work failed: this one does it instead)."""
    team = body.get("team_id") if isinstance(body.get("team_id"), str) else None
    give_up = time.monotonic() + IN_FLIGHT_WAIT
    while True:
        try:
            found = deps.run(
                lambda session: slack_event_queries.claim(
                    session=session, event_id=key, team_id=team, now=utcnow(), done=done
                )
            )
        except SQLAlchemyError as error:
            if not is_unavailable(error):
                raise
            log.warning("event %s: the database is unavailable; acting without knowing", key)
            return True
        if found is not Claim.IN_FLIGHT or time.monotonic() >= give_up:
            return found is Claim.TAKEN
        time.sleep(IN_FLIGHT_POLL)


def _finish(deps: Deps, key: str) -> None:
    try:
        deps.run(
            lambda session: slack_event_queries.finish(session=session, event_id=key, now=utcnow())
        )
    except SQLAlchemyError as error:  # the work is done; a retry finds it claimed still
        log.warning("event %s: done, but the database could not record it: %s", key, error)


def _release(deps: Deps, key: str) -> None:
    try:
        deps.run(lambda session: slack_event_queries.release(session=session, event_id=key))
    except SQLAlchemyError as error:  # the claim is given up after ABANDONED_AFTER anyway
        log.warning("event %s: its claim could not be given back: %s", key, error)
