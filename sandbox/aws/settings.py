"""How the local AWS behaves: delays, private DNS verification outcomes and injected faults.

One process-wide `SETTINGS` object, shared by the in-process mock and the HTTP server (they run
in the same process and serve the same moto backends). `reset_backends` in `server.py` empties
the AWS state; `reset_settings` here restores the defaults.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Fault:
    """An error the local AWS answers instead of running an action: AWS's XML error with `code`
    and `message`, or `body` as it is (an answer a client cannot read, as a proxy may send);
    in `region` only, or in every region."""

    code: str
    message: str
    status: int
    remaining: int
    region: str | None = None
    body: str | None = None


@dataclass
class SandboxSettings:
    """Knobs of the local AWS; change them with `configure`, never while a request runs."""

    service_delay: float = 0.0
    connection_delay: float = 0.0
    dns_verified: bool = False
    dns_failures: set[str] = field(default_factory=set)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)


SETTINGS = SandboxSettings()
LOCK = threading.RLock()
"""Serialises the extension's reads and writes of the shared moto state."""


def configure(
    *,
    service_delay: float | None = None,
    connection_delay: float | None = None,
    dns_verified: bool | None = None,
) -> None:
    """Set how long new services stay `Pending`, accepted endpoints `pending`, and DNS checks."""
    with LOCK:
        if service_delay is not None:
            SETTINGS.service_delay = max(0.0, service_delay)
        if connection_delay is not None:
            SETTINGS.connection_delay = max(0.0, connection_delay)
        if dns_verified is not None:
            SETTINGS.dns_verified = dns_verified


def reset_settings() -> None:
    """Back to the defaults: no delays, domains not pre-verified, no faults, no call counts."""
    with LOCK:
        SETTINGS.service_delay = 0.0
        SETTINGS.connection_delay = 0.0
        SETTINGS.dns_verified = False
        SETTINGS.dns_failures.clear()
        SETTINGS.faults.clear()
        SETTINGS.calls.clear()


def fail_dns_verification(*, target: str) -> None:
    """Make private DNS verification fail for a service id (`vpce-svc-…`) or a domain."""
    with LOCK:
        SETTINGS.dns_failures.add(target)


def inject_fault(
    *,
    action: str,
    code: str = "RequestLimitExceeded",
    message: str = "Request limit exceeded.",
    status: int = 503,
    times: int = 1,
    region: str | None = None,
    body: str | None = None,
) -> None:
    """Answer the next `times` calls of an EC2 or ELBv2 action (e.g.
    `DescribeVpcEndpointConnections`, `DescribeTargetHealth`),
    in `region` or in any, with an error instead of running it: AWS's error with `code` and
    `message`, or, given a `body`, that body as it is (e.g. a proxy's plain-text 503)."""
    with LOCK:
        fault = Fault(code, message, status, times, region=region, body=body)
        SETTINGS.faults.setdefault(action, []).append(fault)


def take_fault(*, action: str, region: str) -> Fault | None:
    """The first fault armed for this action in `region`, if any, counting one use of it."""
    with LOCK:
        queue = SETTINGS.faults.get(action, [])
        queue[:] = [fault for fault in queue if fault.remaining > 0]
        fault = next((f for f in queue if f.region in (None, region)), None)
        if fault is not None:
            fault.remaining -= 1
        return fault


def count_call(*, action: str) -> None:
    """Record that the local AWS received one call of an EC2 action."""
    with LOCK:
        SETTINGS.calls[action] = SETTINGS.calls.get(action, 0) + 1


def call_count(*, action: str) -> int:
    """How many calls of an EC2 action the local AWS received since the last reset."""
    with LOCK:
        return SETTINGS.calls.get(action, 0)
