"""Prometheus text for `GET /metrics`: the database's gauges, then this process's counters.

While the database cannot be read, `privatelink_database_up` says 0 and the process's own
counters are still shown: what the endpoint can tell, it tells."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot import observability
from bot.domain.states import EndpointStatus, ServiceStatus
from bot.storage import cluster_queries, endpoint_queries, outbox_queries, service_queries
from bot.storage.db import read_only


def _gauge(name: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f"{name}{labels} {value:g}" for labels, value in samples]
    return lines


log = logging.getLogger("bot.metrics")


def render(sessions: sessionmaker[Session]) -> str:
    """The database's gauges (or that it is down), then this process's counters."""
    try:
        gauges = _database_gauges(sessions)
    except SQLAlchemyError as error:
        log.warning("metrics: the database cannot be read: %s", type(error).__name__)
        gauges = _gauge("privatelink_database_up", "Whether the database answered.", [("", 0)])
    else:
        up = _gauge("privatelink_database_up", "Whether the database answered.", [("", 1)])
        gauges = up + gauges
    return "\n".join(gauges) + "\n" + observability.render()


def _database_gauges(sessions: sessionmaker[Session]) -> list[str]:
    """Endpoints and services by status, the outbox backlog (held and dead rows) and its age,
    and the targets behind each cluster's load balancer."""
    with sessions() as session:
        read_only(session)
        endpoints = endpoint_queries.count_endpoints_by_status(session=session)
        services = service_queries.count_services_by_status(session=session)
        backlog, oldest = outbox_queries.count_unsent(session=session)
        dead = outbox_queries.count_dead(session=session)
        held = outbox_queries.count_held(session=session)
        targets = cluster_queries.list_target_health(session=session)
    age = 0.0
    if oldest is not None:
        age = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
    lines = _gauge(
        "privatelink_endpoints",
        "Private endpoints by status.",
        [
            (f'{{status="{s.value}"}}', endpoints.get(s, 0))
            for s in EndpointStatus
            if s is not EndpointStatus.DELETED
        ],
    )
    lines += _gauge(
        "privatelink_endpoint_services",
        "Endpoint services by status.",
        [
            (f'{{status="{s.value}"}}', services.get(s, 0))
            for s in ServiceStatus
            if s is not ServiceStatus.DELETED
        ],
    )
    lines += _gauge(
        "privatelink_outbox_backlog", "Slack notifications not yet sent.", [("", backlog)]
    )
    lines += _gauge(
        "privatelink_outbox_held",
        "Slack notifications held: their channel takes no post until a person acts "
        "(`python -m bot outbox list`).",
        [("", held)],
    )
    lines += _gauge(
        "privatelink_outbox_dead",
        "Slack notifications given up on (see the logs).",
        [("", dead)],
    )
    lines += _gauge(
        "privatelink_outbox_oldest_age_seconds",
        "Age of the oldest unsent Slack notification.",
        [("", age)],
    )
    clusters = [(f'{{project="{p}",cluster="{_label(n)}"}}', h, t) for p, n, h, t in targets]
    lines += _gauge(
        "privatelink_cluster_healthy_targets",
        "Healthy targets behind each cluster's load balancer, as the worker last read them.",
        [(labels, healthy) for labels, healthy, _ in clusters],
    )
    lines += _gauge(
        "privatelink_cluster_targets",
        "Targets registered behind each cluster's load balancer, as the worker last read them.",
        [(labels, total) for labels, _, total in clusters],
    )
    return lines


def _label(value: str) -> str:
    """`value` as a Prometheus label value (backslash, quote and newline escaped)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
