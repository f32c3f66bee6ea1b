"""When a transaction takes SQLite's write lock: IMMEDIATE ones at BEGIN, OPTIMISTIC ones
(`Deps.run`) at their first write, or never if they only read; an OPTIMISTIC one that another
write overtook runs again with the lock taken up front. On Postgres the same calls just run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.cli.common import engine as cli_engine
from bot.config import Settings
from bot.storage import migrate
from bot.storage.db import (
    DEFERRED,
    HOLDS_WRITE_LOCK,
    SQLITE_BEGIN,
    is_stale_snapshot,
    is_unavailable,
    make_engine,
    make_sessionmaker,
    run_in_transaction,
)
from bot.storage.orm import Project

WAIT = 5.0


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite file of its own (these tests hold transactions open across threads)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _projects(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Project)) or 0)


def _add(session: Session, name: str) -> None:
    session.add(Project(name=name, channel_id=f"C0{name.upper():0>8}"[:11]))
    session.flush()


def _holds_lock(session: Session) -> bool:
    return bool(session.connection().info.get(HOLDS_WRITE_LOCK))


def test_an_optimistic_reader_takes_no_lock_and_holds_no_writer_up(sqlite_engine: Engine) -> None:
    sessions = make_sessionmaker(sqlite_engine)
    reading, wrote = threading.Event(), threading.Event()

    def reader(session: Session) -> bool:
        _projects(session)
        reading.set()
        assert wrote.wait(WAIT), "the writer waited for a transaction that only read"
        return _holds_lock(session)

    def writer() -> None:
        assert reading.wait(WAIT)
        run_in_transaction(sessions, lambda session: _add(session, "written"))
        wrote.set()

    thread = threading.Thread(target=writer)
    thread.start()
    held = run_in_transaction(sessions, reader, optimistic=True)
    thread.join(WAIT)
    assert held is False
    assert run_in_transaction(sessions, _projects) == 1


def test_an_optimistic_writer_takes_the_lock_at_its_first_write(sqlite_engine: Engine) -> None:
    sessions = make_sessionmaker(sqlite_engine)
    seen: list[bool] = []

    def work(session: Session) -> None:
        _projects(session)
        seen.append(_holds_lock(session))
        _add(session, "first")
        seen.append(_holds_lock(session))

    run_in_transaction(sessions, work, optimistic=True)
    assert seen == [False, True]
    assert run_in_transaction(sessions, _projects) == 1
    with sqlite_engine.connect() as connection:  # released when the connection went back
        assert not connection.info.get(HOLDS_WRITE_LOCK)


def test_an_overtaken_optimistic_writer_runs_again_with_the_lock(sqlite_engine: Engine) -> None:
    sessions = make_sessionmaker(sqlite_engine)
    runs: list[tuple[int, bool]] = []

    def work(session: Session) -> int:
        before = _projects(session)  # the snapshot this attempt decides from
        runs.append((before, _holds_lock(session)))
        if len(runs) == 1:  # another write commits between this read and this write
            run_in_transaction(sessions, lambda other: _add(other, "overtook"))
        _add(session, f"after{before}")
        return before

    assert run_in_transaction(sessions, work, optimistic=True) == 1
    assert runs == [(0, False), (1, True)]  # the rerun decided from the newer state
    assert run_in_transaction(sessions, _projects) == 2


def test_an_optimistic_writer_meeting_another_process_writing_waits_for_it(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """Another process (here another engine on the file: this process's lock does not cover
    it) holds the write lock: SQLite answers the optimistic transaction's first write with
    SQLITE_BUSY at once; it runs again IMMEDIATE, which waits for the other to commit."""
    other = make_engine(f"sqlite:///{tmp_path / 'lock.db'}")
    holding, runs = threading.Event(), []
    try:
        with make_sessionmaker(other)() as writing:  # BEGIN IMMEDIATE: the other's write lock
            _add(writing, "other")

            def commit_later() -> None:
                holding.wait(WAIT)
                threading.Event().wait(0.3)
                writing.commit()

            thread = threading.Thread(target=commit_later)
            thread.start()

            def work(session: Session) -> int:
                runs.append(_projects(session))
                holding.set()
                _add(session, "mine")
                return runs[-1]

            seen = run_in_transaction(make_sessionmaker(sqlite_engine), work, optimistic=True)
            thread.join(WAIT)
    finally:
        other.dispose()
    assert runs == [0, 1] and seen == 1  # the rerun saw the other's write
    assert run_in_transaction(make_sessionmaker(sqlite_engine), _projects) == 2


def test_an_overtaken_immediate_write_cannot_happen_and_a_stale_one_is_told(
    sqlite_engine: Engine,
) -> None:
    """Without `optimistic` the first attempt holds the lock from BEGIN; a deferred write that
    was overtaken is SQLite's SQLITE_BUSY_SNAPSHOT, which `is_stale_snapshot` names."""
    with sqlite_engine.connect().execution_options(**{SQLITE_BEGIN: DEFERRED}) as reader:
        reader.execute(text("SELECT count(*) FROM project"))
        run_in_transaction(make_sessionmaker(sqlite_engine), lambda s: _add(s, "between"))
        with pytest.raises(OperationalError) as caught:
            reader.exec_driver_sql(
                "INSERT INTO project (name, channel_id) VALUES ('late', 'C0LATE00001')"
            )
        reader.rollback()
    assert is_stale_snapshot(caught.value)
    assert is_unavailable(caught.value)  # why it must never reach a listener: run_in_transaction


def test_optimistic_transactions_run_on_any_database(db_engine: Engine) -> None:
    sessions: sessionmaker[Session] = make_sessionmaker(db_engine)
    before = run_in_transaction(sessions, _projects, optimistic=True)
    run_in_transaction(sessions, lambda session: _add(session, "anydb"), optimistic=True)
    try:
        assert run_in_transaction(sessions, _projects, optimistic=True) == before + 1
    finally:
        with sessions.begin() as session:
            session.execute(Project.__table__.delete().where(Project.name == "anydb"))


@pytest.mark.parametrize(("asked", "pragma"), [(None, 1), ("normal", 1), ("full", 2)])
def test_sqlite_syncs_its_file_as_configured(
    tmp_path: Path, asked: Literal["normal", "full"] | None, pragma: int
) -> None:
    """WAL with synchronous NORMAL unless FULL is asked (BOT_SQLITE_SYNCHRONOUS), on every
    connection of the pool (SQLite's pragma is per connection)."""
    url = f"sqlite:///{tmp_path / 'sync.db'}"
    engine = make_engine(url) if asked is None else make_engine(url, sqlite_synchronous=asked)
    try:
        reading = engine.execution_options(**{SQLITE_BEGIN: DEFERRED})  # two at once, no lock
        with reading.connect() as one, reading.connect() as two:
            for connection in (one, two):
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == pragma
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        engine.dispose()


def test_the_sync_setting_takes_normal_or_full_only() -> None:
    assert Settings().BOT_SQLITE_SYNCHRONOUS == "normal"
    assert Settings(BOT_SQLITE_SYNCHRONOUS="full").BOT_SQLITE_SYNCHRONOUS == "full"  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Settings(BOT_SQLITE_SYNCHRONOUS="off")  # type: ignore[arg-type]


@pytest.mark.parametrize(("asked", "pragma"), [("normal", 1), ("full", 2)])
def test_the_commands_open_sqlite_as_the_setting_says(
    tmp_path: Path, asked: Literal["normal", "full"], pragma: int
) -> None:
    """The commands' engine (`bot.cli.common.engine`) carries BOT_SQLITE_SYNCHRONOUS."""
    url = SecretStr(f"sqlite:///{tmp_path / 'cli.db'}")
    engine = cli_engine(Settings(DATABASE_URL=url, BOT_SQLITE_SYNCHRONOUS=asked))
    try:
        with engine.execution_options(**{SQLITE_BEGIN: DEFERRED}).connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == pragma
    finally:
        engine.dispose()
