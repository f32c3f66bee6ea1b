"""The outbox's queries and writes: queueing, claiming, recording each Slack step, counting,
and the rows held (their channel takes no post until a person acts) or given up on.

Keyword-only, one plain verb each; callers own the transaction. Each function is one round trip
(`add`, `claim_heads`, `get_known_parent`: at most two). The claim is `FOR UPDATE SKIP LOCKED` on
Postgres (SQLite has a single writer); a step is recorded only on a row its worker still holds
and has not sent. Timestamps read back by an aggregate come back aware (SQLite drops the zone).
A held row (`held_at`) is its channel's head: the rows behind it wait for it, so "held" counts
them too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from bot.storage.orm import Outbox, PrivateEndpoint

_BY_DEDUPE_KEY = select(Outbox.id).where(Outbox.dedupe_key == bindparam("key"))
"""Built once: building a statement costs more than running it."""


def add(
    *,
    session: Session,
    dedupe_key: str,
    kind: str,
    channel_id: str | None,
    payload: dict[str, Any],
    thread_key: str,
    private_endpoint_id: int | None = None,
    team_id: str | None = None,
) -> Outbox | None:
    """Queue a Slack notification unless one with `dedupe_key` is already queued."""
    existing = session.scalar(_BY_DEDUPE_KEY, {"key": dedupe_key})
    if existing is not None:
        return None
    row = Outbox(
        dedupe_key=dedupe_key,
        kind=kind,
        team_id=team_id or "",
        channel_id=channel_id,
        payload=payload,
        thread_key=thread_key,
        private_endpoint_id=private_endpoint_id,
    )
    session.add(row)
    return row


def get(*, session: Session, row_id: int) -> Outbox | None:
    """The outbox row with this id."""
    return session.get(Outbox, row_id)


def claim_heads(
    *,
    session: Session,
    now: datetime,
    spacing: timedelta,
    batch: int,
    worker: str,
    until: datetime,
) -> list[int]:
    """Lease to `worker` until `until` the due head row of each channel not posted to within
    `spacing`, at most `batch` of them, oldest first; their ids. A held head is due only at its
    next re-check (`next_attempt_at`), and holds its channel back until then; other channels
    go on."""
    earlier, posted = aliased(Outbox), aliased(Outbox)
    waits_for_earlier = (
        select(earlier.id)
        .where(
            earlier.channel_id == Outbox.channel_id,
            earlier.team_id == Outbox.team_id,
            earlier.id < Outbox.id,
            earlier.sent_at.is_(None),
            earlier.dead_at.is_(None),
        )
        .exists()
    )
    posted_lately = (
        select(posted.id)
        .where(
            posted.channel_id == Outbox.channel_id,
            posted.team_id == Outbox.team_id,
            posted.last_post_at > now - spacing,
        )
        .exists()
    )
    query = (
        select(Outbox.id)
        .where(
            Outbox.sent_at.is_(None),
            Outbox.dead_at.is_(None),
            Outbox.next_attempt_at <= now,
            or_(Outbox.claimed_until.is_(None), Outbox.claimed_until <= now),
            ~waits_for_earlier,
            ~posted_lately,
        )
        .order_by(Outbox.id)
        .limit(batch)
        .with_for_update(skip_locked=True, of=Outbox)
    )
    ids = list(session.scalars(query))
    if ids:
        session.execute(
            update(Outbox)
            .where(Outbox.id.in_(ids))
            .values(claimed_by=worker, claimed_until=until)
            .execution_options(synchronize_session=False)
        )
    return ids


def first_post_since(*, session: Session, since: datetime) -> datetime | None:
    """The earliest post made after `since`, in any channel."""
    return _aware(
        session.scalar(select(func.min(Outbox.last_post_at)).where(Outbox.last_post_at > since))
    )


def first_retry_after(*, session: Session, now: datetime) -> datetime | None:
    """When the first unsent, live row planned for after `now` is due."""
    return _aware(
        session.scalar(
            select(func.min(Outbox.next_attempt_at)).where(
                Outbox.sent_at.is_(None), Outbox.dead_at.is_(None), Outbox.next_attempt_at > now
            )
        )
    )


def update_claimed(*, session: Session, row_id: int, worker: str, **values: Any) -> bool:
    """Set `values` on a row `worker` still holds and has not sent; whether it did."""
    result = session.connection().execute(
        update(Outbox)
        .where(Outbox.id == row_id, Outbox.claimed_by == worker, Outbox.sent_at.is_(None))
        .values(**values)
    )
    return result.rowcount == 1


def get_known_parent(*, session: Session, row: Outbox) -> str | None:
    """The thread's parent message: on its endpoint, or on the thread's earlier outbox rows."""
    if row.private_endpoint_id is not None:
        endpoint = session.get(PrivateEndpoint, row.private_endpoint_id)
        if endpoint is not None:
            return endpoint.alert_ts
    if row.thread_key is None:
        return None
    query = (
        select(Outbox.parent_ts)
        .where(
            Outbox.thread_key == row.thread_key,
            Outbox.channel_id == row.channel_id,
            Outbox.team_id == row.team_id,
            Outbox.parent_ts.is_not(None),
            Outbox.id < row.id,
        )
        .order_by(Outbox.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def update_endpoint_parent(*, session: Session, endpoint_id: int, ts: str | None) -> None:
    """Record on the private endpoint its thread's parent message (None: it is gone)."""
    session.execute(
        update(PrivateEndpoint)
        .where(PrivateEndpoint.id == endpoint_id)
        .values(alert_ts=ts)
        .execution_options(synchronize_session=False)
    )


def count_unsent(*, session: Session) -> tuple[int, datetime | None]:
    """How many rows are neither sent nor given up on, and when the oldest was queued."""
    backlog, oldest = session.execute(
        select(func.count(), func.min(Outbox.created_at)).where(
            Outbox.sent_at.is_(None), Outbox.dead_at.is_(None)
        )
    ).one()
    return backlog, _aware(oldest)


def _in_held_channel() -> ColumnElement[bool]:
    """Whether the row's channel (in its workspace) has a held head row."""
    head = aliased(Outbox)
    return (
        select(head.id)
        .where(
            head.channel_id == Outbox.channel_id,
            head.team_id == Outbox.team_id,
            head.held_at.is_not(None),
            head.sent_at.is_(None),
            head.dead_at.is_(None),
        )
        .exists()
    )


def _held_or_dead() -> ColumnElement[bool]:
    """Rows given up on, or unsent in a held channel (the held head and the rows behind it)."""
    waiting = Outbox.sent_at.is_(None) & Outbox.dead_at.is_(None)
    return or_(Outbox.dead_at.is_not(None), waiting & _in_held_channel())


def count_held(*, session: Session) -> int:
    """How many unsent rows are held: their channel takes no post until a person acts."""
    query = select(func.count()).where(
        Outbox.sent_at.is_(None), Outbox.dead_at.is_(None), _in_held_channel()
    )
    return session.scalar(query) or 0


def list_held_and_dead(
    *, session: Session, channel_id: str | None = None, limit: int = 1000
) -> list[Outbox]:
    """Rows held (with the rows behind them) or given up on, by channel then age."""
    query = select(Outbox).where(_held_or_dead())
    if channel_id is not None:
        query = query.where(Outbox.channel_id == channel_id)
    return list(session.scalars(query.order_by(Outbox.channel_id, Outbox.id).limit(limit)))


def adopt_team(*, session: Session, channel_id: str, team_id: str) -> int:
    """The channel's rows queued before its project's workspace was known are of `team_id`;
    how many."""
    query = update(Outbox).where(Outbox.channel_id == channel_id, Outbox.team_id == "")
    return session.connection().execute(query.values(team_id=team_id)).rowcount


def release_held(
    *,
    session: Session,
    now: datetime,
    channel_id: str | None = None,
    team_id: str | None = None,
) -> int:
    """Let the held rows (of one channel, of one workspace, or all) be sent from `now`; how
    many."""
    query = update(Outbox).where(Outbox.held_at.is_not(None), Outbox.sent_at.is_(None))
    if channel_id is not None:
        query = query.where(Outbox.channel_id == channel_id)
    if team_id is not None:  # and the rows queued before the project's workspace was known
        query = query.where(Outbox.team_id.in_((team_id, "")))
    # the claim goes too: a worker still trying the row cannot hold it again over the release
    values = {"held_at": None, "next_attempt_at": now, "attempts": 0, "claimed_by": None}
    return session.connection().execute(query.values(**values)).rowcount


def revive_dead(*, session: Session, now: datetime, channel_id: str | None = None) -> int:
    """Let the rows given up on (of one channel, or all) be sent again from `now`; how many."""
    query = update(Outbox).where(Outbox.dead_at.is_not(None), Outbox.sent_at.is_(None))
    if channel_id is not None:
        query = query.where(Outbox.channel_id == channel_id)
    values = {"dead_at": None, "next_attempt_at": now, "attempts": 0}
    return session.connection().execute(query.values(**values)).rowcount


def count_dead(*, session: Session) -> int:
    """How many rows were given up on."""
    return session.scalar(select(func.count()).where(Outbox.dead_at.is_not(None))) or 0


def _aware(moment: datetime | None) -> datetime | None:
    """A timestamp read back by an aggregate (SQLite returns it without its zone)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def count_in_thread(*, session: Session, thread_key: str) -> int:
    """How many rows were ever queued in the thread."""
    query = select(func.count()).select_from(Outbox).where(Outbox.thread_key == thread_key)
    return session.scalar(query) or 0
