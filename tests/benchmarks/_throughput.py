"""Throughput of the ack benchmark: requests a second at each concurrency and the ratio of 32
in flight to one, and the serving processes' CPU time per request, work after the ack included.

A run's requests a second count answers (acks); the work after them (views.open, views.update,
views.publish, response_url posts) runs on in the serving process. So that no setting is paid
for by the next one, the bot's work after the ack is drained after each run (its processes'
CPU time stands still), and the CPU time it took, from the start of the run to the end of the
drain, over the requests sent, is its cost per request.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks.cpu_per_kind import TICK_MS

STILL_SECONDS = 0.2  # the CPU clock must stand still twice this long
DRAIN_TIMEOUT = 60.0
THROUGHPUT_TARGET = 0.9  # req/s at the highest concurrency over those at 1, at least


def tree(pid: int) -> list[int]:
    """`pid` and its descendants (gunicorn's master and its workers)."""
    found, todo = [], [pid]
    while todo:
        one = todo.pop()
        found.append(one)
        for task in Path(f"/proc/{one}/task").glob("*/children"):
            try:
                todo += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return found


def tree_cpu_ms(pid: int) -> float:
    """User + system CPU time of `pid` and its descendants so far, in ms."""
    total = 0
    for one in tree(pid):
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone since it was listed
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total * TICK_MS


def drained_cpu_ms(pid: int) -> tuple[float, float]:
    """The CPU time of `pid`'s tree once its work after the ack has finished, and the seconds
    that took (less the still time that shows it)."""
    started = time.monotonic()
    last, still = tree_cpu_ms(pid), 0
    while still < 2 and time.monotonic() - started < DRAIN_TIMEOUT:
        time.sleep(STILL_SECONDS)
        now = tree_cpu_ms(pid)
        still = still + 1 if now == last else 0
        last = now
    waited = time.monotonic() - started - 2 * STILL_SECONDS
    return last, max(0.0, waited)


@dataclass(frozen=True)
class MachineCpu:
    """The whole machine's CPU time so far (/proc/stat), to tell how many of its cores were
    busy over a run: at the machine's cores, the sender, the stand-in, the database and the
    server under test share all there is, and no server can answer faster."""

    busy: int
    total: int

    @classmethod
    def now(cls) -> MachineCpu:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle, iowait
        return cls(busy=sum(fields[:8]) - idle, total=sum(fields[:8]))

    def cores_busy_since(self) -> float:
        """Cores busy on average since this reading (0 to the machine's cores)."""
        later = MachineCpu.now()
        elapsed = later.total - self.total
        share = (later.busy - self.busy) / elapsed if elapsed else 0.0
        return round(share * (os.cpu_count() or 1), 2)


@dataclass(frozen=True)
class Cost:
    """The serving processes' CPU ms per request of one run, and the seconds their work after
    the ack went on after its last answer."""

    cpu_ms_per_request: float
    drain_seconds: float


def ratio(rps: Mapping[int, float]) -> float:
    """Requests a second at the highest concurrency over those at the lowest."""
    low, high = rps[min(rps)], rps[max(rps)]
    return round(high / low, 2) if low else float("nan")


def throughput_rows(
    figures: Mapping[tuple[int, str], Mapping[int, float]],
    costs: Mapping[int, Mapping[int, Cost]],
    bot: str,
) -> list[Sequence[object]]:
    """One row per app and layout: req/s at each concurrency, the ratio, and (the bot) its CPU
    ms per request at each concurrency; `figures` by (processes, app), then concurrency."""
    rows: list[Sequence[object]] = []
    for (processes, app), rps in figures.items():
        cpu = (
            " / ".join(f"{costs[processes][c].cpu_ms_per_request:.2f}" for c in sorted(rps))
            if app == bot
            else ""
        )
        target = ""
        if app == bot and processes == 1:
            target = "met" if ratio(rps) >= THROUGHPUT_TARGET else "missed"
        rows.append(
            (processes, app, *(rps[c] for c in sorted(rps)), f"{ratio(rps):.2f}", cpu, target)
        )
    return rows
