"""Faults the stand-in injects: errors, 429s, Slack's per-channel posting rate limit, and calls
carried out whose answer comes too late or never (the connection reset)."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from threading import Condition

from sandbox.slack.workspace import JsonDict


@dataclass(frozen=True)
class Reply:
    """An HTTP answer of the Web API: status, extra headers and JSON body; held back `delay`
    seconds, or never sent (`reset`: the connection is reset instead)."""

    status: int
    body: JsonDict
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False


def rate_limited(retry_after: int) -> Reply:
    """Slack's answer to a rate-limited call: 429, ``Retry-After`` seconds, ``ratelimited``."""
    return Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})


@dataclass
class _Queued:
    reply: Reply
    remaining: int


@dataclass
class _Aftermath:
    delay: float
    reset: bool
    remaining: int


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class RateLimit:
    """A token bucket per channel: ``per_second`` calls, bursts of up to ``burst``."""

    method: str
    per_second: float
    burst: int


class FaultPlan:
    """The faults planned per Web API method; not thread-safe (the stand-in holds a lock)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._queued: dict[str, list[_Queued]] = {}
        self._windows: dict[str, tuple[float, int | None]] = {}
        self._limits: dict[str, RateLimit] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._aftermaths: dict[str, list[_Aftermath]] = {}

    def fail_next(self, method: str, *, error: str, times: int = 1, status: int = 200) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        reply = Reply(status, {"ok": False, "error": error})
        self._queued.setdefault(method, []).append(_Queued(reply, times))

    def rate_limit_next(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 and ``Retry-After``."""
        self._queued.setdefault(method, []).append(_Queued(rate_limited(retry_after), times))

    def rate_limit_for(
        self, method: str, *, seconds: float, retry_after: int | None = None
    ) -> None:
        """Answer every call of ``method`` with 429 for ``seconds`` from now."""
        self._windows[method] = (self._clock() + seconds, retry_after)

    def answer_late(self, method: str, *, seconds: float, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method``, but answer each after ``seconds``."""
        self._aftermaths.setdefault(method, []).append(_Aftermath(seconds, False, times))

    def drop_answer(self, method: str, *, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method``, then reset the connection instead."""
        self._aftermaths.setdefault(method, []).append(_Aftermath(0.0, True, times))

    def limit_rate(
        self, *, method: str = "chat.postMessage", per_second: float = 1.0, burst: int = 1
    ) -> None:
        """Enforce a rate per channel on ``method``, as Slack does for chat.postMessage."""
        self._limits[method] = RateLimit(method, per_second, burst)

    def unlimit_rate(self, *, method: str = "chat.postMessage") -> None:
        """Stop enforcing a rate on ``method``."""
        self._limits.pop(method, None)
        self._buckets = {k: v for k, v in self._buckets.items() if k[0] != method}

    def clear(self) -> None:
        """Forget every planned fault and rate limit."""
        self._queued.clear()
        self._windows.clear()
        self._limits.clear()
        self._buckets.clear()
        self._aftermaths.clear()

    def check(self, method: str, *, channel: str | None) -> Reply | None:
        """The fault that answers this call instead of the method, if any; consumes it."""
        now = self._clock()
        window = self._windows.get(method)
        if window is not None:
            until, retry_after = window
            if now < until:
                return rate_limited(retry_after or max(1, math.ceil(until - now)))
            del self._windows[method]
        queue = self._queued.get(method)
        if queue:
            head = queue[0]
            head.remaining -= 1
            if head.remaining <= 0:
                queue.pop(0)
            return head.reply
        limit = self._limits.get(method)
        if limit is not None and channel is not None:
            return self._take(limit, channel, now)
        return None

    def after(self, method: str, reply: Reply) -> Reply:
        """The answer to a call of ``method`` that was carried out: late or dropped if planned."""
        queue = self._aftermaths.get(method)
        if not queue:
            return reply
        head = queue[0]
        head.remaining -= 1
        if head.remaining <= 0:
            queue.pop(0)
        return dataclasses.replace(reply, delay=head.delay, reset=head.reset)

    def _take(self, limit: RateLimit, channel: str, now: float) -> Reply | None:
        key = (limit.method, channel)
        bucket = self._buckets.setdefault(key, _Bucket(float(limit.burst), now))
        bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.updated) * limit.per_second)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        wait = (1 - bucket.tokens) / limit.per_second
        return rate_limited(max(1, math.ceil(wait)))


class FaultControls:
    """The faults a test plans on a stand-in, in every workspace; ``_cond`` guards the stand-in
    (a subclass answers calls under it, consulting ``_faults`` and ``_latency``)."""

    def __init__(self) -> None:
        self._cond = Condition()
        self._faults = FaultPlan()
        self._latency: dict[str, float] = {}

    def fail_next(self, method: str, *, error: str, times: int = 1, status: int = 200) -> None:
        """Answer the next ``times`` calls of ``method`` with ``{"ok": false, "error": error}``."""
        with self._cond:
            self._faults.fail_next(method, error=error, times=times, status=status)

    def rate_limit_next(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 and ``Retry-After``."""
        with self._cond:
            self._faults.rate_limit_next(method, times=times, retry_after=retry_after)

    def rate_limit_for(
        self, method: str, *, seconds: float, retry_after: int | None = None
    ) -> None:
        """Answer every call of ``method`` with 429 for ``seconds`` from now."""
        with self._cond:
            self._faults.rate_limit_for(method, seconds=seconds, retry_after=retry_after)

    def limit_rate(
        self, *, method: str = "chat.postMessage", per_second: float = 1.0, burst: int = 1
    ) -> None:
        """Enforce Slack's rate per channel on ``method`` (429 with ``Retry-After`` beyond it)."""
        with self._cond:
            self._faults.limit_rate(method=method, per_second=per_second, burst=burst)

    def unlimit_rate(self, *, method: str = "chat.postMessage") -> None:
        """Stop enforcing a rate on ``method``."""
        with self._cond:
            self._faults.unlimit_rate(method=method)

    def answer_late(self, method: str, *, seconds: float, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method`` (a post is made), but answer each
        only after ``seconds`` (longer than the client's timeout: it gives up first)."""
        with self._cond:
            self._faults.answer_late(method, seconds=seconds, times=times)

    def drop_answer(self, method: str, *, times: int = 1) -> None:
        """Carry out the next ``times`` calls of ``method`` (a post is made), then reset the
        connection instead of answering."""
        with self._cond:
            self._faults.drop_answer(method, times=times)

    def slow_down(self, method: str, *, seconds: float) -> None:
        """Answer every call of ``method`` only after ``seconds`` (0 to stop), carrying it out
        only then."""
        with self._cond:
            self._latency[method] = seconds
