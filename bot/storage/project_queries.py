"""Queries and writes on projects and their members; keyword-only, one plain verb each.
Callers own the transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, bindparam, or_, select
from sqlalchemy.orm import Session, joinedload

from bot.domain.states import Role
from bot.storage.orm import (
    Project,
    ProjectMember,
)


def create_project(
    *, session: Session, name: str, channel_id: str, team_id: str | None, owners: Sequence[str]
) -> Project:
    """A new project bound to `channel_id`, with its named owners."""
    project = Project(name=name, channel_id=channel_id, team_id=team_id)
    project.members = [ProjectMember(user_id=user, role=Role.OWNER) for user in owners]
    session.add(project)
    session.flush()
    return project


def get_project_by_name(*, session: Session, name: str) -> Project | None:
    """The project called `name`."""
    return session.scalar(select(Project).where(Project.name == name))


def get_project_by_channel(*, session: Session, channel_id: str) -> Project | None:
    """The project bound to a Slack channel, with its members, in one query (every request
    from Slack starts here)."""
    query = (
        select(Project).where(Project.channel_id == channel_id).options(joinedload(Project.members))
    )
    return session.scalars(query).unique().one_or_none()


def of_channel(channel_id: str, team_id: str) -> ColumnElement[bool]:
    """Projects bound to the channel in this workspace, or in a workspace not learned yet."""
    return and_(
        Project.channel_id == channel_id, or_(Project.team_id == team_id, Project.team_id.is_(None))
    )


def get_project_for_channel(*, session: Session, channel_id: str, team_id: str) -> Project | None:
    """The project bound to the channel in workspace `team_id` (one whose workspace is not
    learned yet if none is bound there), with its members."""
    query = (
        select(Project)
        .where(of_channel(channel_id, team_id))
        .order_by(Project.team_id.is_(None))  # the workspace's own first
        .limit(1)
        .options(joinedload(Project.members))
    )
    return session.scalars(query).unique().one_or_none()


def list_projects_bound_to(
    *, session: Session, channel_id: str, team_id: str | None
) -> Sequence[Project]:
    """The projects a new binding of the channel in workspace `team_id` would clash with: in
    that workspace or one not known yet (every workspace's, when `team_id` is None)."""
    query = select(Project).where(Project.channel_id == channel_id)
    if team_id is not None:
        query = query.where(or_(Project.team_id == team_id, Project.team_id.is_(None)))
    return session.scalars(query.order_by(Project.id)).all()


_TEAM_OF = select(Project.team_id).where(Project.id == bindparam("project"))


def get_team_id(*, session: Session, project_id: int) -> str | None:
    """The workspace of the project (None while it is not known)."""
    return session.scalar(_TEAM_OF, {"project": project_id})


def list_projects(*, session: Session) -> Sequence[Project]:
    """Every project, by name, with its members loaded."""
    return session.scalars(select(Project).order_by(Project.name)).all()


def list_projects_by_id(*, session: Session, ids: Sequence[int]) -> Sequence[Project]:
    """The projects with these ids."""
    if not ids:
        return []
    return session.scalars(select(Project).where(Project.id.in_(ids))).all()


def list_projects_of_user(*, session: Session, user_id: str) -> Sequence[Project]:
    """The projects where `user_id` is a named member or owner."""
    query = (
        select(Project)
        .join(ProjectMember)
        .where(ProjectMember.user_id == user_id)
        .order_by(Project.name)
    )
    return session.scalars(query).unique().all()


def add_member(*, session: Session, project: Project, user_id: str) -> None:
    """Remember that `user_id` is in the project's channel (owners stay owners)."""
    if all(member.user_id != user_id for member in project.members):
        project.members.append(ProjectMember(user_id=user_id, role=Role.MEMBER))
        session.flush()
