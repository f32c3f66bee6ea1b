"""Registering projects: a name, the Slack channel that speaks for it, its owners."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.orm import Session

from bot.domain.errors import Conflict, InvalidInput
from bot.domain.validation import parse_name
from bot.storage import event_log, orm, project_queries

_CHANNEL = re.compile(r"[CG][A-Z0-9]{6,20}", re.ASCII)
_USER = re.compile(r"[UW][A-Z0-9]{6,20}", re.ASCII)
_TEAM = re.compile(r"T[A-Z0-9]{3,20}", re.ASCII)


def parse_slack_id(text: str, *, kind: str) -> str:
    """A Slack channel (`C…`/`G…`), user (`U…`/`W…`) or team (`T…`) id."""
    pattern = {"channel": _CHANNEL, "user": _USER, "team": _TEAM}[kind]
    value = text.strip()
    if pattern.fullmatch(value) is None:
        raise InvalidInput(
            kind,
            f"{value!r} is not a Slack {kind} ID (open the {kind} in "
            "Slack, then 'Copy link' or 'Copy ID').",
        )
    return value


def add(
    *,
    session: Session,
    name: str,
    channel_id: str,
    owners: Sequence[str],
    team_id: str | None = None,
    actor: str = event_log.SYSTEM_ACTOR,
) -> orm.Project:
    """Register a project bound to a channel; names are unique, and so are channels within a
    workspace (a project whose workspace is not known yet keeps its channel id to itself)."""
    project_name = parse_name(name, what="project name")
    channel = parse_slack_id(channel_id, kind="channel")
    owner_ids = list(dict.fromkeys(parse_slack_id(u, kind="user") for u in owners))
    team = parse_slack_id(team_id, kind="team") if team_id else None
    if project_queries.get_project_by_name(session=session, name=project_name) is not None:
        raise Conflict(f"A project named {project_name} already exists.")
    bound = project_queries.list_projects_bound_to(
        session=session, channel_id=channel, team_id=team
    )
    if bound:
        raise Conflict(f"Channel {channel} already belongs to project {bound[0].name}.")
    project = project_queries.create_project(
        session=session, name=project_name, channel_id=channel, team_id=team, owners=owner_ids
    )
    event_log.record_event(
        session=session,
        project_id=project.id,
        subject="project",
        subject_id=project.id,
        actor=actor,
        action="project_added",
        detail=f"channel {channel}, owners {', '.join(owner_ids) or 'none'}",
    )
    return project
