"""The outbox's steps for one claimed row: the thread's parent posted or updated, then the reply,
each recorded right after its Slack call.

Slack is called outside transactions; each step's result is committed right after its call
(`parent_ts`, then `reply_ts` with `sent_at`), never repeating a recorded step. Each post is
preceded by `post_started_at`, cleared with the step's record or Slack's refusal: it outlives
only a post of unknown outcome (no answer in time, a reset, a crash), and the next try first
looks that post up by its metadata, adopting it rather than posting again (a failed lookup posts
nothing). A channel that takes no post until a person acts (the bot not invited…) is held, never
given up on: its head row gets `held_at` (holding back the rows behind it), the project's owners
are told once, and it is tried again each `recheck` until sent or released. The SQL is in
`bot.storage.outbox_queries`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.notices.base import Notice
from bot.notices.registry import UnreadableNotice, read_notice
from bot.slack.notifier import (
    PARENT_STEP,
    REPLY_STEP,
    Blocker,
    ChannelBlocked,
    MessageGone,
    Notifier,
    PermanentFailure,
    RateLimited,
    SlackFailure,
)
from bot.slack.views import setup
from bot.slack.workspaces import Workspaces
from bot.storage import outbox_queries, project_queries
from bot.storage.db import read_only, transaction
from bot.storage.orm import Outbox
from bot.worker.outbox.work import Checkpoint, SendPolicy, SendReport, Work

log = logging.getLogger("bot.worker.outbox")


@dataclass(kw_only=True)
class Sender:
    sessions: sessionmaker[Session]
    workspaces: Workspaces
    clock: Clock
    worker: str
    policy: SendPolicy
    checkpoint: Checkpoint | None
    report: SendReport = field(default_factory=SendReport)
    _notifiers: dict[WebClient, Notifier] = field(default_factory=dict)

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
        if work.notifier is None:
            self._hold_uninstalled(work)
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

    def _load(self, row_id: int) -> Work | None:
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
            work = Work(
                id=row.id,
                team_id=row.team_id,
                channel_id=row.channel_id,
                notice=payload,
                attempts=row.attempts,
                parent_ts=row.parent_ts,
                known_parent=outbox_queries.get_known_parent(session=session, row=row),
                endpoint_id=row.private_endpoint_id,
                post_started_at=row.post_started_at,
                held_at=row.held_at,
                notifier=None,
            )
        return replace(work, notifier=self._notifier(work.team_id))

    def _notifier(self, team_id: str) -> Notifier | None:
        """Slack as the bot of the workspace (one notifier per client: it remembers the bot's
        name); None when the app is not installed there."""
        client = self.workspaces.client(team_id or None)
        if client is None:
            return None
        notifier = self._notifiers.get(client)
        if notifier is None:
            notifier = self._notifiers[client] = Notifier(client=client)
        return notifier

    def _parent(self, work: Work) -> tuple[str | None, bool]:
        """Update the endpoint's parent message, or post one; its ts (None: claim lost)."""
        if work.post_started_at is not None:
            found = work.slack.find_parent(
                channel=work.channel_id, outbox_id=work.id, since=work.post_started_at
            )
            if found is not None:
                self._found(work, PARENT_STEP, found)
                return self._record_parent(work, found, posted=True), True
        if work.known_parent is not None:
            try:
                work.slack.update_parent(
                    channel=work.channel_id, ts=work.known_parent, notice=work.notice
                )
            except MessageGone as gone:
                log.info("outbox row %s: parent message gone (%s); posting anew", work.id, gone)
            else:
                return self._record_parent(work, work.known_parent, posted=False), False
        if not self._posting(work):
            return None, False
        ts = work.slack.post_parent(channel=work.channel_id, notice=work.notice, outbox_id=work.id)
        return self._record_parent(work, ts, posted=True), True

    def _record_parent(self, work: Work, ts: str, *, posted: bool) -> str | None:
        now = self.clock()
        values: dict[str, Any] = {"parent_ts": ts, "post_started_at": None, "held_at": None}
        values["claimed_until"] = self._lease_end()
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

    def _reply(self, work: Work, parent_ts: str) -> None:
        ts, since = None, work.post_started_at
        if since is not None and work.parent_ts is not None:  # the mark is the reply's
            ts = work.slack.find_reply(
                channel=work.channel_id, thread_ts=parent_ts, outbox_id=work.id, since=since
            )
            if ts is not None:
                self._found(work, REPLY_STEP, ts)
        if ts is None:
            if not self._posting(work):
                return
            ts = work.slack.post_reply(
                channel=work.channel_id, thread_ts=parent_ts, notice=work.notice, outbox_id=work.id
            )
        now = self.clock()
        with transaction(self.sessions) as session:
            done = self._own(
                session,
                work.id,
                reply_ts=ts,
                post_started_at=None,
                last_post_at=now,
                sent_at=now,
                last_error=None,
                held_at=None,
                claimed_by=None,
                claimed_until=None,
            )
        if not done:
            return
        self.report.sent += 1
        if self.checkpoint is not None:
            self.checkpoint(work.id, REPLY_STEP)

    def _posting(self, work: Work) -> bool:
        """Note that a post of the row's next step starts now (whether it held the row)."""
        since, until = self.clock(), self._lease_end()
        with transaction(self.sessions) as session:
            return self._own(session, work.id, post_started_at=since, claimed_until=until)

    def _found(self, work: Work, step: str, ts: str) -> None:
        self.report.found += 1
        log.info("outbox row %s: %s found in Slack (%s), not posted again", work.id, step, ts)

    def _forget_parent(self, work: Work) -> None:
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

    def _fail(self, work: Work, failure: SlackFailure) -> None:
        if isinstance(failure, ChannelBlocked) and self._hold(work, failure):
            return
        now = self.clock()
        values: dict[str, Any] = {"claimed_by": None, "claimed_until": None}
        if failure.not_posted:  # Slack refused the post: the next try needs no lookup
            values["post_started_at"] = None
        if isinstance(failure, RateLimited):
            until = now + timedelta(seconds=failure.retry_after)
            values |= {"next_attempt_at": until, "last_error": f"ratelimited: {failure.error}"}
            counter, level = "rate_limited", logging.INFO
        else:  # a held row failing for another reason starts its tries afresh
            attempts = (0 if work.held_at is not None else work.attempts) + 1
            values["held_at"] = None
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

    # --- a channel that takes no post --------------------------------------------------------

    def _hold(self, work: Work, failure: ChannelBlocked) -> bool:
        """Hold the row, and so its channel, while Slack takes no post there; the project's
        owners are told when the hold begins. False if Slack says the bot may post there (the
        failure was then not the channel's)."""
        blocker = work.slack.why_blocked(channel=work.channel_id, failure=failure)
        if blocker is None:
            return False
        values = self._held(work, blocker=blocker, error=failure.error)
        if failure.not_posted:
            values["post_started_at"] = None
        with transaction(self.sessions) as session:
            if not self._own(session, work.id, **values):
                return True
        if work.held_at is None:  # told once, after the hold is saved: a crash tells no one twice
            self._tell_owners(work, blocker, failure.error)
        self.report.held += 1
        log.warning("outbox row %s: %s; channel %s held", work.id, failure.error, work.channel_id)
        return True

    def _held(self, work: Work, *, blocker: Blocker, error: str) -> dict[str, Any]:
        """A held row's values: held since its first hold, tried again at the next recheck."""
        now = self.clock()
        return {
            "held_at": work.held_at or now,
            "next_attempt_at": now + timedelta(seconds=self.policy.recheck),
            "attempts": work.attempts + 1,
            "claimed_by": None,
            "claimed_until": None,
            "last_error": setup.reason(blocker=blocker, error=error),
        }

    def _hold_uninstalled(self, work: Work) -> None:
        """Hold the row, and so its channel, while its workspace has no install of the app: no
        one there can be told, and its posts go out when it installs the app again."""
        values = self._held(work, blocker=Blocker.UNINSTALLED, error="no_installation")
        with transaction(self.sessions) as session:
            if not self._own(session, work.id, **values):
                return
        self.report.held += 1
        if work.held_at is None:
            log.warning(
                "outbox row %s: workspace %s has no install of the app; channel %s held",
                work.id,
                work.team_id or "(not known yet)",
                work.channel_id,
            )

    def _tell_owners(self, work: Work, blocker: Blocker, error: str) -> None:
        """A direct message to each owner of the channel's project: what to do (one that cannot
        be sent is logged: the hold still shows in `/metrics` and `outbox list`)."""
        channel = work.channel_id
        with self.sessions.begin() as session:
            project = project_queries.get_project_for_channel(  # "": a project's not known
                session=read_only(session), channel_id=channel, team_id=work.team_id
            )
            name, owners = (project.name, sorted(project.owners())) if project else ("", [])
        if not owners:
            log.warning("channel %s held: no project owner to tell (%s)", channel, error)
            return
        bot = work.slack.bot_name()
        message = setup.held_message(
            blocker=blocker, error=error, channel=channel, project=name, bot_name=bot
        )
        for owner in owners:
            try:
                work.slack.tell(user=owner, message=message)
            except SlackFailure as failure:
                log.warning("channel %s held; owner %s not told: %s", channel, owner, failure.error)


def _read(row: Outbox) -> tuple[str | None, Notice | None]:
    """Why the row cannot be sent, or its notice."""
    if row.channel_id is None:
        return "no channel to post in", None
    try:
        return None, read_notice(row.kind, row.payload)
    except UnreadableNotice as error:
        return str(error), None
