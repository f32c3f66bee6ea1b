"""The outbox sender: due Slack notifications, claimed, sent in order per channel, step by step.

A pass claims the head row of each channel (the oldest unsent, not dead row) when it is due, no
other worker holds it, and the channel had no post in the last `spacing` seconds. The claim is a
lease (`claimed_by` until `claimed_until`) taken in one short transaction, `FOR UPDATE SKIP
LOCKED` on Postgres (SQLite has a single writer). Slack is called outside transactions; each
step's result is committed right after its call (`parent_ts`, then `reply_ts` with `sent_at`),
so a crash repeats at most the one call in flight, never a step already recorded. Its SQL is in
`bot.storage.outbox_queries`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.notices.base import Notice
from bot.notices.registry import UnreadableNotice, read_notice
from bot.slack.notifier import (
    MessageGone,
    Notifier,
    PermanentFailure,
    RateLimited,
    SlackFailure,
)
from bot.storage import outbox_queries
from bot.storage.db import transaction
from bot.storage.orm import Outbox
from bot.storage.types import utcnow

log = logging.getLogger(__name__)

PARENT_STEP = "parent"
REPLY_STEP = "reply"
MIN_PAUSE_SECONDS = 0.05
Checkpoint = Callable[[int, str], None]


@dataclass(frozen=True)
class SendPolicy:
    """How the sender paces, leases and retries (seconds; the lease outlasts a Slack call)."""

    spacing: float = 1.0
    lease: float = 120.0
    batch: int = 50
    backoff_base: float = 2.0
    backoff_cap: float = 900.0
    max_attempts: int = 8
    max_permanent_attempts: int = 3

    def backoff(self, attempts: int) -> float:
        """The wait before try number `attempts + 1`."""
        return float(min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempts - 1)))


DEFAULT_POLICY = SendPolicy()


@dataclass
class SendReport:
    """What one pass did, for metrics and benchmarks."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    rate_limited: int = 0
    dead: int = 0
    deferred: int = 0
    lost: int = 0
    next_due_at: datetime | None = None

    def due(self, at: datetime) -> None:
        """Note that a row this pass left behind is due again at `at`."""
        self.next_due_at = at if self.next_due_at is None else min(self.next_due_at, at)


@dataclass(frozen=True)
class _Work:
    id: int
    channel_id: str
    notice: Notice
    attempts: int
    parent_ts: str | None  # this row's parent step is done, on this message
    known_parent: str | None  # the endpoint's parent message, from earlier rows
    endpoint_id: int | None


def default_worker_id() -> str:
    """This process and thread, as a claim owner."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[-64:]


def send_due(
    *,
    sessions: sessionmaker[Session],
    client: WebClient,
    now: datetime | None = None,
    worker_id: str | None = None,
    policy: SendPolicy = DEFAULT_POLICY,
    checkpoint: Checkpoint | None = None,
) -> SendReport:
    """Send what is due now, one claimed row per channel; `checkpoint` runs after each step."""
    sender = _Sender(
        sessions=sessions,
        notifier=Notifier(client=client),
        clock=Clock(now),
        worker=worker_id or default_worker_id(),
        policy=policy,
        checkpoint=checkpoint,
    )
    for row_id in sender.claim():
        sender.send(row_id)
    return sender.report


def run_forever(
    *,
    sessions: sessionmaker[Session],
    client: WebClient,
    stop_event: threading.Event,
    interval: float = 1.0,
    worker_id: str | None = None,
    policy: SendPolicy = DEFAULT_POLICY,
) -> None:
    """Send due notifications until `stop_event` is set, pausing at most `interval` seconds."""
    worker = worker_id or default_worker_id()
    while not stop_event.is_set():
        try:
            report = send_due(sessions=sessions, client=client, worker_id=worker, policy=policy)
        except OperationalError:
            log.exception("outbox pass failed: database unavailable; trying again")
            report = SendReport()
        stop_event.wait(pause_after(report, interval=interval, batch=policy.batch))


def pause_after(report: SendReport, *, interval: float, batch: int) -> float:
    """How long to wait before the next pass: none after a full batch, else until due."""
    if report.claimed >= batch:
        return 0.0
    if report.next_due_at is None:
        return interval
    wait = (report.next_due_at - utcnow()).total_seconds()
    return min(interval, max(MIN_PAUSE_SECONDS, wait))


class _Sender:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        notifier: Notifier,
        clock: Clock,
        worker: str,
        policy: SendPolicy,
        checkpoint: Checkpoint | None,
    ) -> None:
        self.sessions = sessions
        self.notifier = notifier
        self.clock = clock
        self.worker = worker
        self.policy = policy
        self.checkpoint = checkpoint
        self.report = SendReport()

    # --- claiming -------------------------------------------------------------------------

    def claim(self) -> list[int]:
        """Lease the due head row of each channel that may be posted to now."""
        now = self.clock()
        with transaction(self.sessions) as session:
            ids = outbox_queries.claim_heads(
                session=session,
                now=now,
                spacing=timedelta(seconds=self.policy.spacing),
                batch=self.policy.batch,
                worker=self.worker,
                until=self._lease_end(),
            )
            self._note_next_due(session, now)
        self.report.claimed = len(ids)
        return ids

    def _note_next_due(self, session: Session, now: datetime) -> None:
        """When a row held back now (a channel's pace, a planned retry) may go: the loop sleeps
        until then rather than a whole interval."""
        spacing = timedelta(seconds=self.policy.spacing)
        last_post = outbox_queries.first_post_since(session=session, since=now - spacing)
        if last_post is not None:
            self.report.due(last_post + spacing)
        retry = outbox_queries.first_retry_after(session=session, now=now)
        if retry is not None:
            self.report.due(retry)

    def _lease_end(self) -> datetime:
        return self.clock() + timedelta(seconds=self.policy.lease)

    def _own(self, session: Session, row_id: int, **values: Any) -> bool:
        """Update a row this worker still holds; whether it did."""
        if outbox_queries.update_claimed(
            session=session, row_id=row_id, worker=self.worker, **values
        ):
            return True
        log.warning("outbox row %s: claim lost to another worker; leaving it", row_id)
        self.report.lost += 1
        return False

    # --- one row --------------------------------------------------------------------------

    def send(self, row_id: int) -> None:
        """Do the steps of one claimed row that are not yet done."""
        work = self._load(row_id)
        if work is None:
            return
        try:
            parent_ts, posted = work.parent_ts, False
            if parent_ts is None:
                parent_ts, posted = self._parent(work)
                if parent_ts is None:
                    return
            if posted:  # the reply is a second post: keep the channel's pace
                self._defer(work.id, self.clock() + timedelta(seconds=self.policy.spacing))
                return
            self._reply(work, parent_ts)
        except MessageGone as gone:
            self._forget_parent(work)
            self._fail(work, gone)
        except SlackFailure as failure:
            self._fail(work, failure)

    def _load(self, row_id: int) -> _Work | None:
        with transaction(self.sessions) as session:
            row = outbox_queries.get(session=session, row_id=row_id)
            if row is None or row.claimed_by != self.worker or row.sent_at is not None:
                self.report.lost += 1
                return None
            problem, payload = _read(row)
            if payload is None or row.channel_id is None:
                row.dead_at, row.last_error = self.clock(), problem
                row.claimed_by, row.claimed_until = None, None
                log.error("outbox row %s cannot be sent, given up: %s", row.id, problem)
                self.report.dead += 1
                return None
            return _Work(
                id=row.id,
                channel_id=row.channel_id,
                notice=payload,
                attempts=row.attempts,
                parent_ts=row.parent_ts,
                known_parent=outbox_queries.get_known_parent(session=session, row=row),
                endpoint_id=row.private_endpoint_id,
            )

    def _parent(self, work: _Work) -> tuple[str | None, bool]:
        """Update the endpoint's parent message, or post one; its ts (None: claim lost)."""
        if work.known_parent is not None:
            try:
                self.notifier.update_parent(
                    channel=work.channel_id, ts=work.known_parent, notice=work.notice
                )
            except MessageGone as gone:
                log.info("outbox row %s: parent message gone (%s); posting anew", work.id, gone)
            else:
                return self._record_parent(work, work.known_parent, posted=False), False
        ts = self.notifier.post_parent(
            channel=work.channel_id, notice=work.notice, outbox_id=work.id
        )
        return self._record_parent(work, ts, posted=True), True

    def _record_parent(self, work: _Work, ts: str, *, posted: bool) -> str | None:
        now = self.clock()
        values: dict[str, Any] = {"parent_ts": ts, "claimed_until": self._lease_end()}
        if posted:
            values["last_post_at"] = now
        with transaction(self.sessions) as session:
            if not self._own(session, work.id, **values):
                return None
            if posted and work.endpoint_id is not None:
                outbox_queries.update_endpoint_parent(
                    session=session, endpoint_id=work.endpoint_id, ts=ts
                )
        if self.checkpoint is not None:
            self.checkpoint(work.id, PARENT_STEP)
        return ts

    def _reply(self, work: _Work, parent_ts: str) -> None:
        ts = self.notifier.post_reply(
            channel=work.channel_id, thread_ts=parent_ts, notice=work.notice, outbox_id=work.id
        )
        now = self.clock()
        with transaction(self.sessions) as session:
            done = self._own(
                session,
                work.id,
                reply_ts=ts,
                last_post_at=now,
                sent_at=now,
                last_error=None,
                claimed_by=None,
                claimed_until=None,
            )
        if not done:
            return
        self.report.sent += 1
        if self.checkpoint is not None:
            self.checkpoint(work.id, REPLY_STEP)

    def _forget_parent(self, work: _Work) -> None:
        """The thread is gone: the next try posts a new parent."""
        with transaction(self.sessions) as session:
            if self._own(session, work.id, parent_ts=None) and work.endpoint_id is not None:
                outbox_queries.update_endpoint_parent(
                    session=session, endpoint_id=work.endpoint_id, ts=None
                )

    def _defer(self, row_id: int, until: datetime) -> None:
        with transaction(self.sessions) as session:
            released = self._own(
                session, row_id, next_attempt_at=until, claimed_by=None, claimed_until=None
            )
        if released:
            self.report.deferred += 1
            self.report.due(until)

    def _fail(self, work: _Work, failure: SlackFailure) -> None:
        now = self.clock()
        values: dict[str, Any] = {"claimed_by": None, "claimed_until": None}
        if isinstance(failure, RateLimited):
            until = now + timedelta(seconds=failure.retry_after)
            values |= {"next_attempt_at": until, "last_error": f"ratelimited: {failure.error}"}
            counter, level = "rate_limited", logging.INFO
        else:
            attempts = work.attempts + 1
            permanent = isinstance(failure, PermanentFailure)
            limit = self.policy.max_permanent_attempts if permanent else self.policy.max_attempts
            until = now + timedelta(seconds=self.policy.backoff(attempts))
            values |= {"attempts": attempts, "last_error": failure.error}
            if attempts >= limit:
                values["dead_at"] = now
                counter, level = "dead", logging.ERROR
            else:
                values["next_attempt_at"] = until
                counter, level = "retried", logging.WARNING
        with transaction(self.sessions) as session:
            if not self._own(session, work.id, **values):
                return
        setattr(self.report, counter, getattr(self.report, counter) + 1)
        if counter != "dead":
            self.report.due(until)
        log.log(level, "outbox row %s: %s (%s)", work.id, failure.error, counter)


def _read(row: Outbox) -> tuple[str | None, Notice | None]:
    """Why the row cannot be sent, or its notice."""
    if row.channel_id is None:
        return "no channel to post in", None
    try:
        return None, read_notice(row.kind, row.payload)
    except UnreadableNotice as error:
        return str(error), None
