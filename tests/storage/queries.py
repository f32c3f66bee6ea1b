"""Queries only tests make of the bot's database: a subject's event history, a project by id."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.orm import Event, Project


def list_events(*, session: Session, subject: str, subject_id: int) -> Sequence[Event]:
    """The history of one subject, oldest first."""
    query = (
        select(Event)
        .where(Event.subject == subject, Event.subject_id == subject_id)
        .order_by(Event.id)
    )
    return session.scalars(query).all()


def get_project(*, session: Session, project_id: int) -> Project | None:
    """The project with this id."""
    return session.get(Project, project_id)
