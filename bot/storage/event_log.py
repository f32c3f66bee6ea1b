"""The audit log: who did what to which subject, appended in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.orm import (
    Event,
)

SYSTEM_ACTOR = "system"
"""The actor of what the bot does on its own."""


def record_event(
    *,
    session: Session,
    project_id: int | None,
    subject: str,
    subject_id: int,
    actor: str,
    action: str,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: str | None = None,
    at: datetime | None = None,
) -> Event:
    """Append one entry to the audit log (made `at`, by default now)."""
    event = Event(
        project_id=project_id,
        subject=subject,
        subject_id=subject_id,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        detail=detail,
    )
    if at is not None:
        event.created_at = at
    session.add(event)
    return event


def last_actor(*, session: Session, subject: str, subject_id: int, action: str) -> str | None:
    """Who did `action` to the subject last, if anyone did."""
    query = (
        select(Event.actor)
        .where(Event.subject == subject, Event.subject_id == subject_id, Event.action == action)
        .order_by(Event.id.desc())
        .limit(1)
    )
    return session.scalar(query)
