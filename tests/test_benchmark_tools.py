"""The benchmarks' measuring tools run: `cpu_in_process` answers each kind it is given with
figures, alone or in the ack benchmark's mix, on the embedded defaults (SQLite, the stand-in)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.benchmarks._procs import REPO_ROOT

KINDS = ("command help", "submit interface (invalid)", "action toggle_instructions")


def cpu_in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The tool run with `args`, which must succeed; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.cpu_in_process", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_cpu_in_process_measures_each_kind_it_is_given() -> None:
    done = cpu_in_process("--requests", "3", "--rounds", "1", *KINDS)
    rows = {
        kind: re.search(rf"^{re.escape(kind)}\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", done.stdout, re.M)
        for kind in KINDS
    }
    assert all(rows.values()), done.stdout
    for kind, row in rows.items():
        assert row is not None
        total, ack, after = (float(v) for v in row.groups())
        assert total > 0 and ack > 0, (kind, done.stdout)
        assert abs(total - ack - after) < 0.002, (kind, done.stdout)
    toggle = rows["action toggle_instructions"]
    assert (
        toggle is not None and float(toggle.group(3)) > float(toggle.group(2)) / 4
    )  # views.update after the ack


def test_cpu_in_process_measures_the_benchmarks_mix() -> None:
    """`--mix` sends the kinds in the ack benchmark's order: each kind's figure within the mix,
    and a request's mean."""
    done = cpu_in_process("--mix", "--requests", "6", "--rounds", "1", *KINDS)
    figures = {
        kind: re.search(rf"^{re.escape(kind)}\s+([\d.]+)$", done.stdout, re.M)
        for kind in (*KINDS, "a request of the mix")
    }
    assert all(figures.values()), done.stdout
    assert all(float(m.group(1)) > 0 for m in figures.values() if m is not None), done.stdout
    assert "command list" not in done.stdout, "the kinds asked for only"
