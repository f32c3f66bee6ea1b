"""Which database errors mean the database is unavailable (users told so, the worker backs
off) and which are the request's own, from errors the real databases raise."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.storage.db import is_unavailable, unavailable_reason
from bot.storage.orm import Project
from bot.worker.health import BACK_OFF_MAX_SECONDS, back_off


def test_a_conflicting_write_is_the_requests_own(db_engine: Engine) -> None:
    with db_engine.connect() as connection, connection.begin():
        insert = Project.__table__.insert()
        row = {"name": "dup", "channel_id": "C0DUP00001"}
        connection.execute(insert, row)
        with pytest.raises(IntegrityError) as caught:
            connection.execute(insert, row)
        connection.rollback()
    assert not is_unavailable(caught.value)


def test_a_read_only_server_is_unavailable_and_its_connection_replaced(
    db_engine: Engine, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SET TRANSACTION READ ONLY is Postgres's")
    with db_engine.connect() as connection:
        connection.execute(text("SET TRANSACTION READ ONLY"))
        with pytest.raises(DBAPIError) as caught:
            connection.execute(
                Project.__table__.insert(), {"name": "ro", "channel_id": "C0READONLY"}
            )
    assert is_unavailable(caught.value)
    assert caught.value.connection_invalidated  # the pool reconnects, as after a lost link
    assert unavailable_reason(caught.value) == "the database is read-only (it refuses writes)"
    with db_engine.connect() as connection:  # a fresh connection works
        assert connection.scalar(text("SELECT 1")) == 1


def test_a_refused_connection_is_unavailable() -> None:
    from bot.storage.db import make_engine

    engine = make_engine("postgresql://postgres@127.0.0.1:9/none")
    with pytest.raises(DBAPIError) as caught, engine.connect():
        pass
    assert is_unavailable(caught.value)
    assert unavailable_reason(caught.value) == "the database cannot be reached"


def test_the_worker_backs_off_doubling_up_to_its_cap() -> None:
    assert [back_off(1.0, n) for n in range(7)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert back_off(15.0, 1) == 30.0 and back_off(15.0, 9) == BACK_OFF_MAX_SECONDS
    assert back_off(60.0, 3) == 60.0  # never shorter than the interval
    assert back_off(0.5, 10_000) == BACK_OFF_MAX_SECONDS
