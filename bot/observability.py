"""Process metrics in Prometheus form: AWS calls and their failures by kind, Slack errors, how
long Slack waited for its answers, reconcile passes (and regions they could not finish),
transitions.

Each process (a `serve` replica, a `worker`) counts its own; `GET /metrics` shows them with the
database's gauges, which every replica reads alike. The serving processes of one
`serve --processes N` count together: `bot.prefork` starts them with `PROMETHEUS_MULTIPROC_DIR`
set, each keeps its metrics in files there, and `render` sums counters and histograms over all
of them (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from bot.aws.errors import AWS_FAILURES, CLIENT, error_kind, failure_kind

REGISTRY = CollectorRegistry(auto_describe=True)

AWS_CALLS = Counter(
    "privatelink_aws_calls_total",
    "AWS API calls by operation and outcome (ok or error code).",
    ["operation", "outcome"],
    registry=REGISTRY,
)
AWS_ERRORS = Counter(
    "privatelink_aws_errors_total",
    "AWS API calls that failed (after botocore's retries), by operation and kind: throttling, "
    "server, network, timeout or client.",
    ["operation", "kind"],
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
RECONCILE_REGION_FAILURES = Counter(
    "privatelink_reconcile_region_failures_total",
    "Regions whose part of a reconcile pass stopped early, by reason: aws_unreachable or error.",
    ["reason"],
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


def count_aws_error(*, operation: str, kind: str) -> None:
    """One failed AWS API call, by kind (`bot.aws.errors.KINDS`)."""
    AWS_ERRORS.labels(operation=operation, kind=kind).inc()


def _operation(event_name: str) -> str:
    """The operation of a botocore event name (`after-call.ec2.DescribeVpcs` → `DescribeVpcs`)."""
    return event_name.rsplit(".", 1)[-1]


def watch_aws_client(client: Any) -> None:
    """Count every call a boto3 client makes, and its failures by kind, through botocore's own
    events: `after-call` (an answer, errors included: `http_response`, `parsed`, `model`,
    `context`) and `after-call-error` (no answer: only `exception` and `context`), each also
    given `event_name`. Both fire once per API call, after botocore's retries."""

    def after_call(
        *, event_name: str, http_response: Any = None, parsed: Any = None, **_: Any
    ) -> None:
        operation = _operation(event_name)
        status = getattr(http_response, "status_code", None)
        error = parsed.get("Error") if isinstance(parsed, dict) else None
        code = error.get("Code") if isinstance(error, dict) else None
        if not code and (status or 0) < 300:
            count_aws_call(operation=operation, outcome="ok")
            return
        code = str(code or status)
        count_aws_call(operation=operation, outcome=code)
        count_aws_error(operation=operation, kind=error_kind(code=code, status=status))

    def after_error(*, event_name: str, exception: BaseException, **_: Any) -> None:
        operation = _operation(event_name)
        kind = failure_kind(exception) if isinstance(exception, AWS_FAILURES) else CLIENT
        count_aws_call(operation=operation, outcome=type(exception).__name__)
        count_aws_error(operation=operation, kind=kind)

    service = client.meta.service_model.service_id.hyphenize()  # ec2, elastic-load-balancing-v2
    client.meta.events.register(f"after-call.{service}", after_call)
    client.meta.events.register(f"after-call-error.{service}", after_error)


def _scraped(multiprocess_dir: str | None) -> CollectorRegistry:
    """REGISTRY; or, in multiprocess mode, a registry that reads every process's files."""
    if multiprocess_dir is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
    return registry


# the variable by which prometheus_client chose its mode when it was first imported
SCRAPED = _scraped(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def render() -> str:
    """This process's counters and histograms (with several serving processes, all of theirs,
    summed), in Prometheus text."""
    return generate_latest(SCRAPED).decode()
