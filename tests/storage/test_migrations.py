"""Migrations go up and down on every database, and agree with the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import JSON, Engine, Integer, String, column, insert, inspect, select, table

from bot.storage import migrate
from bot.storage.orm import Base, PrivateEndpoint
from bot.storage.types import UtcDateTime
from tests.conftest import truncate_all

TABLES = {
    "connection_request",
    "project",
    "project_member",
    "cluster",
    "endpoint_service",
    "private_endpoint",
    "event",
    "outbox",
    "slack_installations",
    "slack_bots",
    "slack_oauth_states",
    "slack_event",
}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(db_engine: Engine) -> None:
    assert migrate.is_current(db_engine)
    migrate.downgrade(db_engine, "base")
    assert _tables(db_engine) == set()
    assert not migrate.is_current(db_engine)
    migrate.upgrade(db_engine)
    assert _tables(db_engine) == TABLES
    assert migrate.is_current(db_engine)


def test_models_and_migrations_agree(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_the_workspaces_revision_keeps_every_row(db_engine: Engine) -> None:
    """Rebuilding `project` on SQLite (its channel no longer unique alone) keeps the rows that
    refer to it, and the outbox's rows learn the workspace of their channel's project."""
    migrate.downgrade(db_engine, "2026_12_05_outbox_held")
    with db_engine.begin() as connection:
        run = connection.exec_driver_sql
        run(
            "INSERT INTO project (id, name, team_id, channel_id, created_at, updated_at) VALUES "
            "(1, 'alpha', 'T0ALPHA001', 'C0ALPHA001', '2026-12-01', '2026-12-01'), "
            "(2, 'beta', NULL, 'C0BETA0001', '2026-12-01', '2026-12-01')"
        )
        run(
            "INSERT INTO project_member (id, project_id, user_id, role, created_at, updated_at) "
            "VALUES (1, 1, 'U0OWNER001', 'owner', '2026-12-01', '2026-12-01')"
        )
        run(
            "INSERT INTO cluster (id, project_id, name, tier, cloud, region, status, port, "
            "private_dns_host, created_at, updated_at) VALUES (1, 1, 'orders', 'dedicated', "
            "'aws', 'us-west-2', 'active', 4000, 'orders.example.com', "
            "'2026-12-01', '2026-12-01')"
        )
        for row, channel in ((1, "C0ALPHA001"), (2, "C0BETA0001"), (3, "C0NOWHERE1")):
            run(
                "INSERT INTO outbox (id, dedupe_key, kind, channel_id, payload, attempts, "
                f"next_attempt_at, created_at) VALUES ({row}, 'k{row}', 'endpoint_update', "
                f"'{channel}', '{{}}', 0, '2026-12-01', '2026-12-01')"
            )
    migrate.upgrade(db_engine)
    with db_engine.connect() as connection:
        run = connection.exec_driver_sql
        assert run("SELECT id, team_id FROM project ORDER BY id").all() == [
            (1, "T0ALPHA001"),
            (2, None),
        ]
        assert run("SELECT project_id, user_id FROM project_member").all() == [(1, "U0OWNER001")]
        assert run("SELECT project_id, name FROM cluster").all() == [(1, "orders")]
        teams = run("SELECT id, team_id FROM outbox ORDER BY id").all()
        assert teams == [(1, "T0ALPHA001"), (2, ""), (3, "")]
    truncate_all(db_engine)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 1, hour, minute, tzinfo=UTC)


def _endpoints_before_status_changed_at(engine: Engine) -> None:
    """At the revision before it: endpoints with their histories in the event log."""
    endpoint = table(
        "private_endpoint",
        *(column(name, Integer()) for name in ("id", "project_id", "cluster_id", "version")),
        *(column(name, String()) for name in ("stage", "status", "created_by")),
        column("subnet_ids", JSON()),
        column("created_at", UtcDateTime()),
        column("updated_at", UtcDateTime()),
    )
    event = table(
        "event",
        *(column(name, Integer()) for name in ("id", "project_id", "subject_id")),
        *(column(name, String()) for name in ("subject", "actor", "action")),
        *(column(name, String()) for name in ("from_status", "to_status")),
        column("created_at", UtcDateTime()),
    )
    endpoints = [  # id, status, created
        (1, "pending", at(9)),  # accepted at 12:00, then Create (a step within pending)
        (2, "initiating", at(9)),  # failed, then retried at 10:30, then a vpce id given
        (3, "not_configured", at(9, 1)),  # created (its event a moment before the row)
        (4, "initiating", at(8)),  # no event: in its status since it was created
    ]
    history: list[tuple[int, str, int, str | None, str | None, datetime]] = [
        (1, "private_endpoint", 1, None, "not_configured", at(9)),
        (2, "private_endpoint", 1, "not_configured", "initiating", at(11)),
        (3, "private_endpoint", 1, "initiating", "initiating", at(11, 30)),
        (4, "private_endpoint", 1, "initiating", "pending", at(12)),
        (5, "private_endpoint", 1, "pending", "pending", at(13)),
        (6, "private_endpoint", 2, None, "not_configured", at(9)),
        (7, "private_endpoint", 2, "not_configured", "initiating", at(10, 10)),
        (8, "private_endpoint", 2, "initiating", "failed", at(10, 20)),
        (9, "private_endpoint", 2, "failed", "initiating", at(10, 30)),
        (10, "private_endpoint", 2, "initiating", "initiating", at(10, 40)),
        (11, "private_endpoint", 3, None, "not_configured", at(9)),
        (12, "endpoint_service", 4, None, "initiating", at(14)),  # another subject's id 4
        (13, "connection_request", 2, "pending", "initiating", at(15)),
    ]
    with engine.begin() as connection:
        run = connection.exec_driver_sql
        run(
            "INSERT INTO project (id, name, team_id, channel_id, version, created_at, "
            "updated_at) VALUES (1, 'alpha', 'T0ALPHA001', 'C0ALPHA001', 1, '2026-12-01', "
            "'2026-12-01')"
        )
        run(
            "INSERT INTO cluster (id, project_id, name, tier, cloud, region, status, port, "
            "private_dns_host, created_at, updated_at) VALUES (1, 1, 'orders', 'dedicated', "
            "'aws', 'us-west-2', 'active', 4000, 'orders.example.com', "
            "'2026-12-01', '2026-12-01')"
        )
        rows: list[dict[str, Any]] = [
            {
                "id": eid,
                "project_id": 1,
                "cluster_id": 1,
                "version": 1,
                "stage": "interface_endpoint",
                "status": status,
                "created_by": "U0OWNER001",
                "subnet_ids": [],
                "created_at": created,
                "updated_at": created,
            }
            for eid, status, created in endpoints
        ]
        connection.execute(insert(endpoint), rows)
        names = ("id", "subject", "subject_id", "from_status", "to_status", "created_at")
        events = [dict(zip(names, entry, strict=True)) for entry in history]
        for entry in events:
            entry |= {"project_id": 1, "actor": "system", "action": "moved"}
        connection.execute(insert(event), events)


def test_status_changed_at_is_filled_from_the_event_log(db_engine: Engine) -> None:
    """Each endpoint is in its status since the newest event that moved it there (not a step
    within the status, nor another subject's event), else since it was created; then the
    column is required, and SQLite keeps never reusing ids."""
    migrate.downgrade(db_engine, "2026_12_08_read_path")
    _endpoints_before_status_changed_at(db_engine)
    migrate.upgrade(db_engine)
    query = select(PrivateEndpoint.id, PrivateEndpoint.status_changed_at).order_by(
        PrivateEndpoint.id
    )
    with db_engine.connect() as connection:
        since = connection.execute(query).all()
        columns = {c["name"]: c for c in inspect(connection).get_columns("private_endpoint")}
        indexes = {i["name"]: i for i in inspect(connection).get_indexes("private_endpoint")}
        if connection.dialect.name == "sqlite":
            ddl = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'private_endpoint'"
            ).scalar_one()
            assert "AUTOINCREMENT" in ddl
    assert since == [(1, at(12)), (2, at(10, 30)), (3, at(9)), (4, at(8))]
    assert columns["status_changed_at"]["nullable"] is False
    index = indexes["ix_private_endpoint_status_since"]
    assert index["column_names"] == ["status", "status_changed_at"]
    migrate.downgrade(db_engine, "2026_12_08_read_path")
    with db_engine.connect() as connection:
        kept = connection.exec_driver_sql("SELECT id, status FROM private_endpoint ORDER BY id")
        assert kept.all() == [
            (1, "pending"),
            (2, "initiating"),
            (3, "not_configured"),
            (4, "initiating"),
        ]
        names = {c["name"] for c in inspect(connection).get_columns("private_endpoint")}
    assert "status_changed_at" not in names
    migrate.upgrade(db_engine)
    truncate_all(db_engine)


def test_the_cluster_health_revision_keeps_clusters_and_their_ids(db_engine: Engine) -> None:
    """A cluster made before the revision reads as never checked (no reading, none told); going
    down again keeps the row, and SQLite keeps never reusing ids."""
    migrate.downgrade(db_engine, "2026_12_09_status_changed_at")
    with db_engine.begin() as connection:
        run = connection.exec_driver_sql
        run(
            "INSERT INTO project (id, name, team_id, channel_id, created_at, updated_at) VALUES "
            "(1, 'alpha', 'T0ALPHA001', 'C0ALPHA001', '2026-12-01', '2026-12-01')"
        )
        run(
            "INSERT INTO cluster (id, project_id, name, tier, cloud, region, status, port, "
            "private_dns_host, created_at, updated_at) VALUES (7, 1, 'orders', 'dedicated', "
            "'aws', 'us-west-2', 'active', 4000, 'orders.example.com', "
            "'2026-12-01', '2026-12-01')"
        )
    migrate.upgrade(db_engine)
    health = (
        "SELECT id, health_read_at, healthy_targets, total_targets, health_reason, "
        "unhealthy_reads, health_down, health_changes FROM cluster"
    )
    with db_engine.connect() as connection:
        assert connection.exec_driver_sql(health).all() == [
            (7, None, None, None, None, 0, False, 0)
        ]
    migrate.downgrade(db_engine, "2026_12_09_status_changed_at")
    with db_engine.connect() as connection:
        kept = connection.exec_driver_sql("SELECT id, name FROM cluster").all()
        names = {c["name"] for c in inspect(connection).get_columns("cluster")}
        if connection.dialect.name == "sqlite":
            ddl = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'cluster'"
            ).scalar_one()
            assert "AUTOINCREMENT" in ddl
    assert kept == [(7, "orders")]
    assert not names & {"health_read_at", "health_down", "health_changes"}
    migrate.upgrade(db_engine)
    truncate_all(db_engine)
