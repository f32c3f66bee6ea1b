"""Prometheus text for `GET /metrics`: the database's gauges, then this process's counters."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot import observability
from bot.domain.states import EndpointStatus, ServiceStatus
from bot.storage import endpoint_queries, outbox_queries, service_queries
from bot.storage.db import read_only


def _gauge(name: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    lines += [f"{name}{labels} {value:g}" for labels, value in samples]
    return lines


def render(sessions: sessionmaker[Session]) -> str:
    """The current gauges: endpoints and services by status, the outbox backlog and its age."""
    with sessions() as session:
        read_only(session)
        endpoints = endpoint_queries.count_endpoints_by_status(session=session)
        services = service_queries.count_services_by_status(session=session)
        backlog, oldest = outbox_queries.count_unsent(session=session)
        dead = outbox_queries.count_dead(session=session)
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
        "privatelink_outbox_dead",
        "Slack notifications given up on (see the logs).",
        [("", dead)],
    )
    lines += _gauge(
        "privatelink_outbox_oldest_age_seconds",
        "Age of the oldest unsent Slack notification.",
        [("", age)],
    )
    return "\n".join(lines) + "\n" + observability.render()
