"""The channel's project cache: two engines with a cache each stand in for two processes on one
database; whatever one changes, the other's next read sees, and a hit costs one query."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.states import Role
from bot.storage import home_queries, orm, project_queries
from bot.storage.db import make_engine, make_sessionmaker, read_only, transaction
from bot.storage.project_cache import ChannelProject, ProjectCache

TEAM, OTHER_TEAM = "T0TEAM001", "T0TEAM002"
CHANNEL, OWNER, MEMBER = "C0PAYMENTS", "U0OWNER01", "U0MEMBER1"


@dataclass
class Process:
    """One process's engine and cache, and the statements its engine ran."""

    engine: Engine
    sessions: sessionmaker[Session]
    cache: ProjectCache
    statements: list[str]

    def get(self, channel_id: str = CHANNEL, team_id: str = TEAM) -> ChannelProject | None:
        """The channel's project as a request of this process reads it."""
        with self.sessions.begin() as session:
            return self.cache.get(read_only(session), channel_id=channel_id, team_id=team_id)

    def write(self, work: Any) -> None:
        """`work(session)` in a transaction of its own."""
        with transaction(self.sessions) as session:
            work(session)


@pytest.fixture
def processes(clean_database: str) -> Iterator[tuple[Process, Process]]:
    made = []
    for _ in range(2):
        engine = make_engine(clean_database)
        statements: list[str] = []

        def count(*args: Any, into: list[str] = statements) -> None:
            into.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", count)
        made.append(Process(engine, make_sessionmaker(engine), ProjectCache(), statements))
    yield made[0], made[1]
    for process in made:
        process.engine.dispose()


def _create(session: Session, *, name: str = "payments", team_id: str | None = None) -> None:
    project_queries.create_project(
        session=session, name=name, channel_id=CHANNEL, team_id=team_id, owners=[OWNER]
    )


def _project(session: Session, name: str = "payments") -> orm.Project:
    project = project_queries.get_project_by_name(session=session, name=name)
    assert project is not None
    return project


def test_a_hit_costs_one_small_query(processes: tuple[Process, Process]) -> None:
    a, _ = processes
    a.write(_create)
    first = a.get()
    assert first is not None and first.owners == {OWNER} and first.members == {OWNER}
    a.statements.clear()
    assert a.get() is first
    selects = [s for s in a.statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1 and "project_member" not in selects[0]


def test_a_member_added_by_another_process_is_seen_next(
    processes: tuple[Process, Process],
) -> None:
    a, b = processes
    a.write(_create)
    before = a.get()
    assert before is not None and MEMBER not in before.members
    b.write(lambda s: project_queries.add_member(session=s, project=_project(s), user_id=MEMBER))
    after = a.get()
    assert after is not None and MEMBER in after.members and MEMBER not in after.owners
    assert after.version == before.version + 1


def test_a_new_owner_is_seen_next(processes: tuple[Process, Process]) -> None:
    a, b = processes
    a.write(_create)
    b.write(lambda s: project_queries.add_member(session=s, project=_project(s), user_id=MEMBER))
    assert (cached := a.get()) is not None and cached.owners == {OWNER}

    def promote(session: Session) -> None:
        (row,) = [m for m in _project(session).members if m.user_id == MEMBER]
        row.role = Role.OWNER

    b.write(promote)
    assert (cached := a.get()) is not None and cached.owners == {OWNER, MEMBER}


def test_a_project_bound_or_removed_elsewhere_is_seen_next(
    processes: tuple[Process, Process],
) -> None:
    a, b = processes
    assert a.get() is None
    b.write(_create)
    assert (found := a.get()) is not None and found.name == "payments"
    b.write(lambda s: s.delete(_project(s)))
    assert a.get() is None


def test_the_workspace_learned_moves_the_version_on(processes: tuple[Process, Process]) -> None:
    a, b = processes
    a.write(_create)
    assert (unlearned := a.get()) is not None and unlearned.team_id is None

    def learn(session: Session) -> None:
        _project(session).team_id = TEAM

    b.write(learn)
    assert (learned := a.get()) is not None and learned.team_id == TEAM
    assert learned.version == unlearned.version + 1
    assert a.get(team_id=OTHER_TEAM) is None  # the channel of another workspace is not it


def test_the_workspace_own_project_comes_before_one_not_learned_yet(
    processes: tuple[Process, Process],
) -> None:
    a, b = processes
    a.write(_create)
    assert (first := a.get()) is not None and first.name == "payments"
    b.write(lambda s: _create(s, name="ledger", team_id=TEAM))
    assert (ours := a.get()) is not None and ours.name == "ledger"
    assert (other := a.get(team_id=OTHER_TEAM)) is not None and other.name == "payments"
    with a.sessions.begin() as session:
        found = project_queries.get_project_for_channel(
            session=session, channel_id=CHANNEL, team_id=TEAM
        )
        assert found is not None and found.name == "ledger"


def test_a_member_removed_moves_the_version_on(processes: tuple[Process, Process]) -> None:
    a, b = processes
    a.write(_create)
    b.write(lambda s: project_queries.add_member(session=s, project=_project(s), user_id=MEMBER))
    assert (cached := a.get()) is not None and MEMBER in cached.members

    def leave(session: Session) -> None:
        project = _project(session)
        project.members = [m for m in project.members if m.user_id != MEMBER]

    b.write(leave)
    assert (cached := a.get()) is not None and MEMBER not in cached.members


def test_members_removed_in_sql_elsewhere_are_seen_when_the_version_moves(
    processes: tuple[Process, Process],
) -> None:
    """A write that goes around the ORM must move the version on itself, as this one does."""
    a, b = processes
    a.write(_create)
    assert a.get() is not None

    def remove(session: Session) -> None:
        project = _project(session)
        session.execute(delete(orm.ProjectMember).where(orm.ProjectMember.user_id == OWNER))
        project.version = orm.Project.version + 1

    b.write(remove)
    assert (cached := a.get()) is not None and cached.members == frozenset()


def test_recording_the_home_tab_leaves_the_version_alone(
    processes: tuple[Process, Process],
) -> None:
    a, b = processes
    a.write(_create)
    assert (before := a.get()) is not None
    with b.sessions.begin() as session:
        ids = session.scalars(select(orm.ProjectMember.id)).all()
        home_queries.record_published(
            session=session, member_ids=ids, digest="d" * 64, slack_hash="1.abc"
        )
    a.statements.clear()
    assert a.get() is before
    with a.sessions.begin() as session:
        mine = home_queries.list_home_projects(session=session, user_id=OWNER, team_id=TEAM)
    assert (mine.digest, mine.slack_hash) == ("d" * 64, "1.abc")
    assert [p.owners for p in mine.projects] == [frozenset({OWNER})]
