"""Watching a running bot process from outside: its RSS from /proc, its passes from /metrics."""

from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PASSES_METRIC = "privatelink_reconcile_pass_seconds"
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?P<labels>\{[^}]*\})?\s+(?P<value>\S+)$")


def proc_status_kib(pid: int, name: str) -> int:
    """A `VmRSS`/`VmHWM`-style field of /proc/<pid>/status, in KiB (0 once the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return 0


def metrics(url: str) -> dict[str, float]:
    """Prometheus text from `url`, as {'name{labels}': value}."""
    with urllib.request.urlopen(url, timeout=5.0) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        found = _SAMPLE.match(line.strip())
        if found and not line.startswith("#"):
            samples[found["name"] + (found["labels"] or "")] = float(found["value"])
    return samples


@dataclass
class RssTimeline:
    """RSS samples of one process (seconds since start, KiB) and its RSS after each pass."""

    samples: list[tuple[float, int]] = field(default_factory=list)
    after_pass: list[tuple[int, float, int]] = field(default_factory=list)
    """(pass number, seconds, VmRSS KiB) at the first sample that saw the pass done."""

    def add(self, seconds: float, rss_kib: int) -> None:
        self.samples.append((seconds, rss_kib))

    def passed(self, count: int, seconds: float, rss_kib: int) -> None:
        if not self.after_pass or self.after_pass[-1][0] != count:
            self.after_pass.append((count, seconds, rss_kib))

    @property
    def max_kib(self) -> int:
        return max((rss for _, rss in self.samples), default=0)

    @property
    def first_kib(self) -> int:
        return self.samples[0][1] if self.samples else 0
