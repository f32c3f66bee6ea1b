"""Whether a process's worker loops are doing their work: the truth behind `/healthz`.

Each loop (the reconcile loop, the outbox sender) reports every pass to its `Heartbeat`: a pass
that ended, or one that failed and why. The worker is healthy while every loop's last good pass
is recent (`stale_after` seconds: a few of its intervals) and the loop's thread is alive; a
stalled, failing or dead loop makes `/healthz` answer 503 with a one-line JSON reason. Passes
are counted on `/metrics` (`privatelink_worker_passes_total` by loop and outcome).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter, Gauge

from bot.observability import REGISTRY

PASSES = Counter(
    "privatelink_worker_passes_total",
    "Worker passes by loop (reconcile, outbox) and outcome (ok, failed).",
    ["loop", "outcome"],
    registry=REGISTRY,
)
LAST_PASS = Gauge(
    "privatelink_worker_last_pass_timestamp_seconds",
    "When each worker loop last finished a pass (Unix time).",
    ["loop"],
    multiprocess_mode="max",  # with several serving processes: the latest of any of them
    registry=REGISTRY,
)


@dataclass
class _Loop:
    stale_after: float
    started: float
    last_ok: float | None = None
    last_error: str | None = None
    alive: Callable[[], bool] = lambda: True


class Heartbeat:
    """The passes of one process's worker loops, as they report them."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._loops: dict[str, _Loop] = {}
        self._lock = threading.Lock()

    def watch(self, loop: str, *, stale_after: float) -> None:
        """Expect passes of `loop` at least every `stale_after` seconds from now on."""
        with self._lock:
            self._loops[loop] = _Loop(stale_after=stale_after, started=self._clock())

    def alive_while(self, loop: str, alive: Callable[[], bool]) -> None:
        """Count `loop` as dead once `alive()` is false (its thread ended)."""
        with self._lock:
            self._loops[loop].alive = alive

    def ok(self, loop: str) -> None:
        """A pass of `loop` ended."""
        PASSES.labels(loop=loop, outcome="ok").inc()
        LAST_PASS.labels(loop=loop).set(time.time())
        with self._lock:
            if loop in self._loops:
                self._loops[loop].last_ok = self._clock()
                self._loops[loop].last_error = None

    def failed(self, loop: str, reason: str) -> None:
        """A pass of `loop` failed for `reason` (one line)."""
        PASSES.labels(loop=loop, outcome="failed").inc()
        with self._lock:
            if loop in self._loops:
                self._loops[loop].last_error = reason[:300]

    def problem(self) -> str | None:
        """Why the worker is not healthy, as one line of JSON; None when it is."""
        now = self._clock()
        with self._lock:
            for name, loop in sorted(self._loops.items()):
                if not loop.alive():
                    return _reason(name, "the loop has stopped", None)
                since = now - (loop.last_ok if loop.last_ok is not None else loop.started)
                if since > loop.stale_after:
                    what = "no pass has ended" if loop.last_ok is None else "no pass ended"
                    return _reason(
                        name, f"{what} in {since:.0f} s (limit {loop.stale_after:.0f} s)", loop
                    )
        return None


def _reason(loop: str, what: str, state: _Loop | None) -> str:
    reason = {"status": "unhealthy", "loop": loop, "reason": what}
    if state is not None and state.last_error:
        reason["last_error"] = state.last_error
    return json.dumps(reason)


BACK_OFF_MAX_SECONDS = 30.0


def back_off(interval: float, failures: int) -> float:
    """The pause after `failures` passes in a row failed because the database is unavailable:
    the interval, doubled per failure up to BACK_OFF_MAX_SECONDS (never below the interval), so
    an outage is retried calmly and a recovery is seen within half a minute."""
    if failures <= 0:
        return interval
    return max(interval, min(BACK_OFF_MAX_SECONDS, interval * 2.0 ** min(failures, 16)))
