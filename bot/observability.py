"""Process metrics in Prometheus form: AWS calls, Slack errors, how long Slack waited for its
answers, reconcile passes, transitions.

Each process (a `serve` replica, a `worker`) counts its own; `GET /metrics` shows them with the
database's gauges, which every replica reads alike.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

AWS_CALLS = Counter(
    "privatelink_aws_calls_total",
    "AWS API calls by operation and outcome (ok or error code).",
    ["operation", "outcome"],
    registry=REGISTRY,
)
SLACK_ERRORS = Counter(
    "privatelink_slack_errors_total",
    "Slack Web API calls that failed, by method and error.",
    ["method", "error"],
    registry=REGISTRY,
)
SLACK_ANSWER_SECONDS = Histogram(
    "privatelink_slack_answer_seconds",
    "From a Slack request's arrival at a serving thread to its answer (Slack gives up at 3 s).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3),
    registry=REGISTRY,
)
RECONCILE_SECONDS = Histogram(
    "privatelink_reconcile_pass_seconds",
    "How long one reconcile pass took.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
TRANSITIONS = Counter(
    "privatelink_transitions_total",
    "Private endpoint transitions made by this process.",
    ["event", "to_status"],
    registry=REGISTRY,
)


def count_aws_call(*, operation: str, outcome: str) -> None:
    """One AWS API call, `ok` or the error code it ended with."""
    AWS_CALLS.labels(operation=operation, outcome=outcome).inc()


def watch_aws_client(client: Any) -> None:
    """Count every call a boto3 client makes, through botocore's own events."""

    def after_call(*, model: Any, parsed: Any = None, **_: Any) -> None:
        error = (parsed or {}).get("Error", {}).get("Code") if isinstance(parsed, dict) else None
        count_aws_call(operation=model.name, outcome=error or "ok")

    def after_error(*, model: Any, exception: BaseException, **_: Any) -> None:
        count_aws_call(operation=model.name, outcome=type(exception).__name__)

    client.meta.events.register("after-call.ec2", after_call)
    client.meta.events.register("after-call-error.ec2", after_error)


def render() -> str:
    """This process's counters and histograms, in Prometheus text."""
    return generate_latest(REGISTRY).decode()
