"""The outbox loop: passes over due Slack notifications, claimed and sent in order per channel.

A pass claims the head row of each channel (the oldest unsent, not dead row) when it is due, no
other worker holds it, and the channel had no post in the last `spacing` seconds. The claim is a
lease (`claimed_by` until `claimed_until`) taken in one short transaction, `FOR UPDATE SKIP
LOCKED` on Postgres (SQLite has a single writer). Each claimed row is sent step by step by
`bot.worker.outbox.sender`, which never repeats a step Slack has made. A channel Slack takes no
post in until a person acts is held (never given up on): its head waits for its next re-check or a
release (the bot invited, `outbox retry`), its rows behind it; other channels go on.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.slack.workspaces import Workspaces, workspaces_of
from bot.storage.db import is_unavailable, unavailable_reason
from bot.storage.types import utcnow
from bot.worker.health import Heartbeat, back_off
from bot.worker.outbox.sender import Sender
from bot.worker.outbox.work import (
    DEFAULT_POLICY,
    MIN_PAUSE_SECONDS,
    Checkpoint,
    SendPolicy,
    SendReport,
)

__all__ = [
    "DEFAULT_POLICY",
    "Checkpoint",
    "SendPolicy",
    "SendReport",
    "default_worker_id",
    "pause_after",
    "run_forever",
    "send_due",
]

log = logging.getLogger(__name__)
LOOP = "outbox"


def default_worker_id() -> str:
    """This process and thread, as a claim owner."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[-64:]


def send_due(
    *,
    sessions: sessionmaker[Session],
    client: WebClient | Workspaces,
    now: datetime | None = None,
    worker_id: str | None = None,
    policy: SendPolicy = DEFAULT_POLICY,
    checkpoint: Checkpoint | None = None,
) -> SendReport:
    """Send what is due now, one claimed row per channel; `checkpoint` runs after each step."""
    sender = Sender(
        sessions=sessions,
        workspaces=workspaces_of(client),
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
    client: WebClient | Workspaces,
    stop_event: threading.Event,
    interval: float = 1.0,
    worker_id: str | None = None,
    policy: SendPolicy = DEFAULT_POLICY,
    heartbeat: Heartbeat | None = None,
) -> None:
    """Send due notifications until `stop_event` is set, pausing at most `interval` seconds;
    each pass is told to `heartbeat` (failed while the database cannot be reached)."""
    worker = worker_id or default_worker_id()
    beat = heartbeat or Heartbeat()
    failures = 0
    while not stop_event.is_set():
        try:
            report = send_due(sessions=sessions, client=client, worker_id=worker, policy=policy)
        except SQLAlchemyError as error:
            if not is_unavailable(error):
                raise
            failures += 1
            reason = unavailable_reason(error)
            pause = back_off(interval, failures)
            log.warning("outbox pass failed: %s; trying again in %.0f s", reason, pause)
            beat.failed(LOOP, reason)
            stop_event.wait(pause)
            continue
        failures = 0
        beat.ok(LOOP)
        stop_event.wait(pause_after(report, interval=interval, batch=policy.batch))


def pause_after(report: SendReport, *, interval: float, batch: int) -> float:
    """How long to wait before the next pass: none after a full batch, else until due."""
    if report.claimed >= batch:
        return 0.0
    if report.next_due_at is None:
        return interval
    wait = (report.next_due_at - utcnow()).total_seconds()
    return min(interval, max(MIN_PAUSE_SECONDS, wait))
