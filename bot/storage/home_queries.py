"""What the Home tab reads of a user's projects, and the record of the page last published to
them (`project_member.home_digest`, `home_hash`), through SQLAlchemy Core.

The record is written only after Slack took the page, on every member row of the user at once;
a user with no project has no row, and their (one-line) page is always sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from bot.domain import entities
from bot.domain.states import Role
from bot.storage.orm import Project, ProjectMember

_project = cast(Table, Project.__table__)
_member = cast(Table, ProjectMember.__table__)
_owner = _member.alias("owner")
_HOME = (
    select(
        _project.c.id,
        _project.c.name,
        _project.c.team_id,
        _project.c.channel_id,
        _member.c.id,
        _member.c.home_digest,
        _member.c.home_hash,
        _owner.c.user_id,
    )
    .select_from(
        _project.join(
            _member,
            and_(_member.c.project_id == _project.c.id, _member.c.user_id == bindparam("user")),
        ).outerjoin(_owner, and_(_owner.c.project_id == _project.c.id, _owner.c.role == Role.OWNER))
    )
    .where(or_(_project.c.team_id == bindparam("team"), _project.c.team_id.is_(None)))
    .order_by(_project.c.name, _project.c.id)
)

_RECORD = (
    update(_member)
    .where(_member.c.id.in_(bindparam("members", expanding=True)))
    .values(home_digest=bindparam("digest"), home_hash=bindparam("hash"))
)


@dataclass(frozen=True, slots=True)
class HomeProjects:
    """The projects a user is owner or member of, by name, and what their rows record."""

    projects: list[entities.Project]
    member_ids: tuple[int, ...]
    digest: str | None
    """The page recorded on every one of the rows (None if any has none, or they differ: a
    project joined since, say)."""
    slack_hash: str | None
    """Slack's hash of the page last recorded (on the rows that have one, if they agree)."""


def list_home_projects(*, session: Session, user_id: str, team_id: str) -> HomeProjects:
    """The user's projects in workspace `team_id` (or whose workspace is not known yet) with
    their owners, and the page recorded as published, in one query."""
    rows = session.connection().execute(_HOME, {"user": user_id, "team": team_id}).all()
    projects: dict[int, tuple[str, str | None, str, set[str]]] = {}
    digests: dict[int, str | None] = {}
    hashes: dict[int, str | None] = {}
    for project_id, name, team_id, channel_id, member_id, digest, slack_hash, owner in rows:
        owners = projects.setdefault(project_id, (name, team_id, channel_id, set()))[3]
        if owner is not None:
            owners.add(owner)
        digests[member_id], hashes[member_id] = digest, slack_hash
    recorded = set(digests.values())
    known = set(hashes.values()) - {None}
    return HomeProjects(
        projects=[
            entities.Project(
                id=pid, name=name, team_id=team, channel_id=channel, owners=frozenset(owners)
            )
            for pid, (name, team, channel, owners) in projects.items()
        ],
        member_ids=tuple(sorted(digests)),
        digest=recorded.pop() if len(recorded) == 1 else None,
        slack_hash=known.pop() if len(known) == 1 else None,
    )


def record_published(
    *, session: Session, member_ids: Sequence[int], digest: str, slack_hash: str | None
) -> None:
    """Record on the user's member rows the page Slack has just taken."""
    if not member_ids:
        return
    page = {"members": list(member_ids), "digest": digest, "hash": slack_hash}
    session.connection().execute(_RECORD, page)


def forget_published(*, session: Session, team_id: str) -> int:
    """Forget the pages recorded as published in workspace `team_id` (it uninstalled the app:
    what Slack shows there is gone with it), so that the next open publishes again."""
    projects = select(_project.c.id).where(_project.c.team_id == team_id)
    statement = (
        update(_member)
        .where(_member.c.project_id.in_(projects), _member.c.home_digest.is_not(None))
        .values(home_digest=None, home_hash=None)
    )
    return session.connection().execute(statement).rowcount
