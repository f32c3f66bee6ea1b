"""Figures of a benchmark: percentiles, a printed table, one JSON file in bench-results/."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.benchmarks._procs import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "bench-results"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) of `values`, interpolated between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Latency:
    """Latency figures of one run, in milliseconds; `rps` is completed requests per second."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float
    mean: float
    rps: float

    @classmethod
    def of(cls, seconds: Sequence[float], *, wall: float) -> Latency:
        """The figures of latencies given in seconds, over a run of `wall` seconds."""
        ms = [s * 1000 for s in seconds]
        return cls(
            count=len(ms),
            p50=round(percentile(ms, 50), 2),
            p95=round(percentile(ms, 95), 2),
            p99=round(percentile(ms, 99), 2),
            max=round(max(ms, default=math.nan), 2),
            mean=round(sum(ms) / len(ms), 2) if ms else math.nan,
            rps=round(len(ms) / wall, 1) if wall > 0 else math.nan,
        )

    def as_json(self) -> dict[str, Any]:
        """The figures as a JSON object."""
        return asdict(self)


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, columns padded; numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in (header, *rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for index, row in enumerate(cells):
        parts = [
            v.rjust(w) if index and _numeric(v) else v.ljust(w)
            for v, w in zip(row, widths, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:,.2f}" if value < 1000 else f"{value:,.0f}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).replace("-", "", 1).isdigit()


def machine() -> dict[str, Any]:
    """Where the figures were measured; a load average above the CPU count means the
    figures shared the machine with other work."""
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_results(name: str, figures: dict[str, Any]) -> Path:
    """Write `bench-results/<name>.json` (the folder is made if needed); its path."""
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    document = {"benchmark": name, "machine": machine(), **figures}
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path
