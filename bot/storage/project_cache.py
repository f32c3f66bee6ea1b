"""The channel's project as each Slack request reads it: kept by the process, checked against the
database before every use, never served stale.

An entry is used only while the channel's key in the database (the id, workspace and `version`
of each project the channel may mean) is the one the entry was loaded with. Every change to a
project or its members moves the project's `version` on in the change's own transaction
(`orm._bump_project_versions`); a project bound to the channel later adds a row to the key, a
removed one takes one away. The check is one indexed query of three columns in the request's
own transaction, so what any process changed (`python -m bot projects add`, another `serve`,
a new member) is what the next request of every process sees; a miss costs one query more,
the project and its members in one join. Reads go through SQLAlchemy Core (statements compiled
once) into frozen rows, not the ORM.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, cast

from sqlalchemy import Connection, Table, bindparam, or_, select
from sqlalchemy.orm import Session

from bot.domain import entities
from bot.domain.states import Role
from bot.storage.orm import Project, ProjectMember

Stamp = tuple[tuple[int, str | None, int], ...]
"""(id, team_id, version) of each project the channel may mean, by id."""

MAX_ENTRIES = 10_000  # channels; past it the cache starts again (a bound on memory, no more)

_project = cast(Table, Project.__table__)
_member = cast(Table, ProjectMember.__table__)
_STAMP = select(_project.c.id, _project.c.team_id, _project.c.version).where(
    _project.c.channel_id == bindparam("channel"),
    or_(_project.c.team_id == bindparam("team"), _project.c.team_id.is_(None)),
)
_LOAD = (
    select(
        _project.c.name,
        _project.c.team_id,
        _project.c.channel_id,
        _project.c.version,
        _member.c.user_id,
        _member.c.role,
    )
    .select_from(_project.outerjoin(_member, _member.c.project_id == _project.c.id))
    .where(_project.c.id == bindparam("project"))
)


class ProjectLike(Protocol):
    """What services read of a project: a `ChannelProject` or an ORM `Project`."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def channel_id(self) -> str: ...
    def to_domain(self) -> entities.Project:
        """The project as the domain rules see it."""
        ...


@dataclass(frozen=True, slots=True)
class ChannelProject:
    """A project as a request from its channel needs it: what the rules read, and who it knows."""

    id: int
    name: str
    team_id: str | None
    channel_id: str
    version: int
    owners: frozenset[str]
    members: frozenset[str]
    """Every user the project knows, owners included."""

    def to_domain(self) -> entities.Project:
        """The project as the domain rules see it."""
        return entities.Project(
            id=self.id,
            name=self.name,
            channel_id=self.channel_id,
            team_id=self.team_id,
            owners=self.owners,
        )


def stamp_of(connection: Connection, *, channel_id: str, team_id: str) -> Stamp:
    """The channel's key as the database has it now."""
    rows = connection.execute(_STAMP, {"channel": channel_id, "team": team_id})
    return tuple(sorted((row[0], row[1], row[2]) for row in rows))


def load(connection: Connection, project_id: int) -> ChannelProject | None:
    """The project and its members, in one query (None if it was removed meanwhile)."""
    rows = connection.execute(_LOAD, {"project": project_id}).all()
    if not rows:
        return None
    name, team_id, channel_id, version = rows[0][:4]
    return ChannelProject(
        id=project_id,
        name=name,
        team_id=team_id,
        channel_id=channel_id,
        version=version,
        owners=frozenset(r[4] for r in rows if r[5] is Role.OWNER),
        members=frozenset(r[4] for r in rows if r[4] is not None),
    )


def preferred(stamp: Stamp, team_id: str) -> int | None:
    """The project the channel means in workspace `team_id`: the one bound there, else one
    whose workspace is not learned yet."""
    ours = [pid for pid, team, _ in stamp if team == team_id]
    unlearned = [pid for pid, team, _ in stamp if team is None]
    return next(iter(ours or unlearned), None)


class ProjectCache:
    """Channel projects of one process, each checked against the database before use."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[Stamp, ChannelProject | None]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, *, channel_id: str, team_id: str) -> ChannelProject | None:
        """The project bound to the channel in this workspace, as of the session's transaction
        (None: no project is)."""
        connection = session.connection()
        stamp = stamp_of(connection, channel_id=channel_id, team_id=team_id)
        key = (team_id, channel_id)
        entry = self._entries.get(key)
        if entry is not None and entry[0] == stamp:
            return entry[1]
        project_id = preferred(stamp, team_id)
        project = load(connection, project_id) if project_id is not None else None
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (stamp, project)
        return project
