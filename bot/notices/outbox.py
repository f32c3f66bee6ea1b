"""Queueing a notice: one outbox row, written in the transaction of the change it tells."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.notices.base import Notice
from bot.storage import orm, outbox_queries


def queue(
    *,
    session: Session,
    notice: Notice,
    dedupe_key: str,
    team_id: str | None,
    channel_id: str | None,
    private_endpoint_id: int | None = None,
) -> orm.Outbox | None:
    """Queue `notice` for the channel (of workspace `team_id`: None while not known) under
    `dedupe_key`; None if that key was queued before."""
    return outbox_queries.add(
        session=session,
        dedupe_key=dedupe_key,
        kind=notice.KIND,
        thread_key=notice.thread_key,
        team_id=team_id,
        channel_id=channel_id,
        private_endpoint_id=private_endpoint_id,
        payload=notice.model_dump(mode="json"),
    )
