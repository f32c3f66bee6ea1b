"""Measuring one piece of work: SQL statements (by verb, table and phase of a reconcile pass),
wall time, and memory (tracemalloc's peak, and the process's peak RSS growth)."""

from __future__ import annotations

import re
import resource
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

PROC_SELF = Path("/proc/self")
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)

OUTSIDE, SAVE = "outside", "save"
"""Where a statement of a pass runs: in a unit's save (the transaction begun right after
reconcile_once's checkpoint) or outside (claiming, loading, per-region queries, releasing)."""


def verb_of(statement: str) -> str:
    """The statement's first keyword, upper-case (SELECT, INSERT, BEGIN, …)."""
    return statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"


def table_of(statement: str) -> str:
    """The first table a statement reads or writes ('-' for BEGIN and the like)."""
    found = _TABLE.search(statement)
    return found.group(1) if found else "-"


@dataclass
class SqlCount:
    """Statements sent to the database, as (phase, verb, table) counts; an executemany is one
    statement (one round trip) whose parameter sets are counted in `rows`."""

    by_key: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    rows: Counter[str] = field(default_factory=Counter)
    saves: int = 0
    phase: str = OUTSIDE
    _save_next: bool = False

    def checkpoint(self, step: str, service_id: int) -> None:
        """reconcile_once's checkpoint: the next transaction is a unit's save."""
        self._save_next = True
        self.saves += 1

    def begin(self) -> None:
        self.phase = SAVE if self._save_next else OUTSIDE
        self._save_next = False

    def end(self) -> None:
        self.phase = OUTSIDE

    def add(self, statement: str, parameters: Any, executemany: bool) -> None:
        verb = verb_of(statement)
        # SQLite's BEGIN IMMEDIATE runs in the engine's own begin listener, before ours
        phase = SAVE if verb == "BEGIN" and self._save_next else self.phase
        self.by_key[(phase, verb, table_of(statement))] += 1
        self.rows[verb] += len(parameters) if executemany else 1

    def total(self, *, phase: str | None = None, verbs: tuple[str, ...] = ()) -> int:
        """Statements, optionally of one phase and/or of some verbs."""
        return sum(
            n
            for (p, v, _), n in self.by_key.items()
            if (phase is None or p == phase) and (not verbs or v in verbs)
        )

    def of_table(self, table: str, *, phase: str | None = None, verb: str | None = None) -> int:
        """Statements on one table."""
        return sum(
            n
            for (p, v, t), n in self.by_key.items()
            if t == table and (phase is None or p == phase) and (verb is None or v == verb)
        )


@contextmanager
def counting_sql(engine: Engine) -> Iterator[SqlCount]:
    """Count every statement `engine` sends while the block runs (before_cursor_execute),
    and which transactions they belong to (begin, commit and rollback events)."""
    counted = SqlCount()

    def on_execute(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, many: bool
    ) -> None:
        counted.add(statement, parameters, many)

    def on_begin(_conn: Any) -> None:
        counted.begin()

    def on_end(_conn: Any) -> None:
        counted.end()

    listeners: list[tuple[str, Any]] = [
        ("before_cursor_execute", on_execute),
        ("begin", on_begin),
        ("commit", on_end),
        ("rollback", on_end),
    ]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield counted
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


def rss_kib() -> int:
    """The process's resident set now (VmRSS), in KiB."""
    return _status_kib("VmRSS")


def _status_kib(name: str) -> int:
    for line in (PROC_SELF / "status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return int(line.split()[1])
    return 0


def reset_peak_rss() -> bool:
    """Reset the kernel's peak RSS of this process to its current RSS (clear_refs 5)."""
    try:
        (PROC_SELF / "clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class Usage:
    """Wall time and memory of a block; memory in MiB."""

    seconds: float = 0.0
    rss_before_mib: float = 0.0
    maxrss_delta_mib: float = 0.0
    """ru_maxrss after minus before (the peak RSS is reset first where the kernel allows)."""
    hwm_delta_mib: float = 0.0
    """Peak RSS (VmHWM) during the block minus the RSS before it."""
    traced_peak_mib: float | None = None
    """tracemalloc's peak of Python allocations in the block (only when traced)."""
    top: list[str] = field(default_factory=list)


@contextmanager
def measuring(*, traced: bool, top: int = 0) -> Iterator[Usage]:
    """Time the block; with `traced`, trace Python allocations (slower: times are not kept
    comparable) and keep the `top` allocation sites at the peak."""
    usage = Usage()
    reset_peak_rss()
    before_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    before_rss = rss_kib()
    usage.rss_before_mib = before_rss / 1024
    if traced:
        tracemalloc.start(25 if top else 1)
        tracemalloc.reset_peak()
    started = time.perf_counter()
    try:
        yield usage
    finally:
        usage.seconds = time.perf_counter() - started
        if traced:
            _, peak = tracemalloc.get_traced_memory()
            usage.traced_peak_mib = peak / 2**20
            if top:
                snapshot = tracemalloc.take_snapshot()
                stats = snapshot.statistics("traceback")[:top]
                usage.top = [
                    f"{s.size / 2**20:.1f} MiB {s.count} blocks at "
                    + " <- ".join(f"{f.filename}:{f.lineno}" for f in list(s.traceback)[-4:])
                    for s in stats
                ]
            tracemalloc.stop()
        after_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        usage.maxrss_delta_mib = max(0, after_max - before_max) / 1024
        usage.hwm_delta_mib = max(0, _status_kib("VmHWM") - before_rss) / 1024
