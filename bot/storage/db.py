"""Engines and sessions for SQLite and Postgres (psycopg 3), and which database errors mean
the database is unavailable (`is_unavailable`) rather than the request wrong."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal, TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    InternalError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

SQLITE_BUSY_TIMEOUT_SECONDS = 30
SQLITE_POOL_SIZE = 32
# Connections a process keeps for reuse: enough for the most HTTP threads the settings allow
# (16), Bolt's 5 threads for work after the ack and the worker's loops. They are opened as
# they are needed. (SQLAlchemy's default of 5 opened and closed a Postgres connection for each
# request beyond it under load: 12% of throughput in the ack benchmark.)
POSTGRES_POOL_SIZE = 32
HOLDS_WRITE_LOCK = "privatelink_holds_write_lock"
SQLITE_BEGIN = "sqlite_begin"  # execution option: IMMEDIATE (the default), DEFERRED or OPTIMISTIC
IMMEDIATE, DEFERRED, OPTIMISTIC = "IMMEDIATE", "DEFERRED", "OPTIMISTIC"
SQLITE_BUSY = 5  # the primary code of every SQLITE_BUSY_* (the low byte)
SQLITE_BUSY_SNAPSHOT = 517  # a deferred transaction's first write after another's commit
READS = ("BEGIN", "SELECT", "PRAGMA", "SAVEPOINT", "RELEASE", "ROLLBACK")  # never a write
SQLITE_SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}
"""SQLite's `synchronous` in WAL mode, by `BOT_SQLITE_SYNCHRONOUS`. NORMAL (the default, as
SQLite advises for WAL): a commit is durable when the process crashes or is killed; the WAL is
flushed to disk at checkpoints, so a power loss or an operating-system crash may take back the
last commits (seconds: the system writes dirty pages back itself). FULL: each commit waits for
its flush, so it survives a power loss too; this machine's disk took about 2.5 ms a commit, all
writers waiting behind it (docs/benchmarks.md). Postgres is unaffected."""
T = TypeVar("T")


def database_url(raw: str) -> URL:
    """The URL with a driver chosen: plain `postgresql://` means psycopg 3."""
    url = make_url(raw)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(
    raw_url: str, *, sqlite_synchronous: Literal["normal", "full"] = "normal", **kwargs: Any
) -> Engine:
    """An engine for `raw_url`; SQLite gets WAL, foreign keys and real transactions, and syncs
    its file as `sqlite_synchronous` says (`SQLITE_SYNCHRONOUS`)."""
    url = database_url(raw_url)
    if url.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_size", POSTGRES_POOL_SIZE)
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
        event.listen(engine, "handle_error", _read_only_is_a_disconnect)
        return engine
    engine = create_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        # more connections than threads (HTTP, Bolt, worker): writers queued on the write
        # lock hold theirs, and readers must not wait for the pool behind them
        pool_size=SQLITE_POOL_SIZE,
        max_overflow=SQLITE_POOL_SIZE,
        **kwargs,
    )
    _fix_sqlite_transactions(engine, synchronous=SQLITE_SYNCHRONOUS[sqlite_synchronous])
    return engine


def _fix_sqlite_transactions(engine: Engine, *, synchronous: str) -> None:
    """Let SQLAlchemy, not pysqlite, begin transactions, so SAVEPOINT and locks behave.

    The recipe from SQLAlchemy's SQLite dialect documentation ("Serializable isolation /
    Savepoints / Transactional DDL"); BEGIN IMMEDIATE takes the write lock up front, so two
    writers queue on the busy timeout instead of failing with "database is locked" mid-way.
    Read-only transactions (`read_only(session)`) begin DEFERRED: with WAL they read
    a snapshot without waiting for writers. Within one process, writers also take a lock until
    their connection goes back to the pool: they queue in order instead of polling SQLite's
    busy handler, whose growing sleeps made the slowest writes take seconds under load.

    OPTIMISTIC transactions (`Deps.run`, through `run_in_transaction(optimistic=True)`) begin
    DEFERRED and take that lock at their first write, so their reads and the work between
    them hold no one up, and one that writes nothing never takes it. SQLite lets such a
    transaction write only if nobody committed since its snapshot; otherwise its first write
    fails with SQLITE_BUSY_SNAPSHOT (`is_stale_snapshot`), or with SQLITE_BUSY while another
    process holds the write lock, and it is run again, IMMEDIATE (`is_busy`).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    writers = threading.Lock()  # released at checkin, which may run on another thread

    def _take(info: dict[str, Any], statement: str) -> None:
        """This process's writers queue here, in order, without sleeping."""
        if info.get(HOLDS_WRITE_LOCK):
            return
        if not writers.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS):
            raise OperationalError(statement, {}, TimeoutError("database is locked"))
        info[HOLDS_WRITE_LOCK] = True

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, IMMEDIATE)
        if mode == IMMEDIATE:
            _take(connection.info, "BEGIN IMMEDIATE")
        try:
            connection.exec_driver_sql(f"BEGIN {IMMEDIATE if mode == IMMEDIATE else DEFERRED}")
        except BaseException:
            _release(connection.info)
            raise

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(connection: Any, _c: Any, statement: str, *_: Any) -> None:
        if connection.get_execution_options().get(SQLITE_BEGIN) != OPTIMISTIC:
            return
        if not statement.lstrip().upper().startswith(READS):  # anything else may write
            _take(connection.info, statement)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        _release(record.info)

    def _release(info: dict[str, Any]) -> None:
        if info.pop(HOLDS_WRITE_LOCK, False):
            writers.release()


READ_ONLY_SQLSTATE = "25006"  # read_only_sql_transaction


def _read_only_is_a_disconnect(context: ExceptionContext) -> None:
    """A server that refuses writes (a replica after a failover, `default_transaction_read_only`
    set while the disk is full) is treated as a lost connection: SQLAlchemy drops the pool's
    connections, so once a writable server answers again, new ones reach it (a pooled
    connection keeps the read-only state it started with)."""
    if sqlstate(context.original_exception) == READ_ONLY_SQLSTATE:
        context.is_disconnect = True


def sqlstate(error: BaseException | None) -> str | None:
    """The SQLSTATE of a database error (psycopg's `sqlstate`), when the server gave one."""
    if isinstance(error, DBAPIError):
        error = error.orig
    code = getattr(error, "sqlstate", None)
    return code if isinstance(code, str) else None


def is_unavailable(error: BaseException) -> bool:
    """Whether a database error is the database's state rather than the request's: lost or
    refused connections, a read-only or full server, too many connections, a shutdown, a
    locked SQLite file, no connection free in the pool. The request may work later; users are
    told the database cannot be reached, and the worker backs off."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | InternalError | PoolTimeout)


def unavailable_reason(error: BaseException) -> str:
    """Why the database is unavailable, in a few words for /healthz and the logs."""
    code = sqlstate(error)
    if code == READ_ONLY_SQLSTATE:
        return "the database is read-only (it refuses writes)"
    if isinstance(error, PoolTimeout):
        return "no database connection free"
    if isinstance(error, InterfaceError) or code is None or code.startswith("08"):
        return "the database cannot be reached"
    return f"the database failed (SQLSTATE {code})"


def read_only(session: Session) -> Session:
    """Make `session`'s next transaction a read-only one (deferred on SQLite); call it first."""
    session.connection(execution_options={SQLITE_BEGIN: DEFERRED})
    return session


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (they are handed to views)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with sessions.begin() as session:
        yield session


def ping(engine: Engine) -> bool:
    """Whether the database answers a trivial query."""
    try:
        with engine.connect().execution_options(**{SQLITE_BEGIN: DEFERRED}) as connection:
            connection.execute(text("SELECT 1"))
    except (OSError, DBAPIError):
        return False
    return True


def is_busy(error: BaseException) -> bool:
    """Whether SQLite answered SQLITE_BUSY of any kind. To an OPTIMISTIC transaction's first
    write that means it must run again with the lock taken up front: another connection
    committed since it began reading (SQLITE_BUSY_SNAPSHOT), or holds the write lock now (a
    transaction that has read gets SQLITE_BUSY at once, without waiting: waiting could
    deadlock); another process's writer, or another engine's, takes no lock of this one's."""
    original = error.orig if isinstance(error, DBAPIError) else error
    code = getattr(original, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == SQLITE_BUSY


def is_stale_snapshot(error: BaseException) -> bool:
    """Whether an OPTIMISTIC transaction's first write found that another had committed since
    it began reading (SQLite's SQLITE_BUSY_SNAPSHOT): it must be run again."""
    original = error.orig if isinstance(error, DBAPIError) else error
    return getattr(original, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT


def run_in_transaction(
    sessions: sessionmaker[Session],
    work: Callable[[Session], T],
    *,
    attempts: int = 3,
    optimistic: bool = False,
) -> T:
    """Run `work` in a transaction; a lost race (stale version, duplicate key) reruns it,
    so the rerun sees what the winner did and answers from that. `optimistic`: on SQLite,
    take the write lock at the first write rather than at BEGIN (see `OPTIMISTIC`); if
    another write came first, `work` runs again with the lock taken up front."""
    begin = OPTIMISTIC if optimistic else None
    attempt = 0
    while True:
        try:
            with sessions.begin() as session:
                if begin is not None:
                    session.connection(execution_options={SQLITE_BEGIN: begin})
                return work(session)
        except OperationalError as error:
            if begin is None or not is_busy(error):
                raise
            begin = None  # IMMEDIATE: a snapshot taken under the lock cannot go stale
        except (StaleDataError, IntegrityError):
            attempt += 1
            if attempt >= attempts:
                raise
