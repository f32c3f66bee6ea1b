"""Where one serving process's time goes as more requests are in flight (issue 26).

`python -m tests.benchmarks.concurrency_profile [--backend sqlite|postgres] [--requests N]
[--concurrency 1 8 32] [--code DIR] [--profile DIR]`

Runs `python -m bot serve --no-worker` (from this checkout, or `--code DIR`, another one) and
the Slack stand-in on a scratch database seeded as the ack-latency benchmark's, then the load
generator at each concurrency with the benchmark's mix. For each: answers a second, p50 and
p99; the process's CPU ms per request, its work after the ack drained and included; its
threads' context switches per request; the share of one core it ran on; and the time its
threads waited for a core (`/proc/<pid>/task/*/schedstat`) per request: CPU time that other
processes had.

With `--profile DIR`, py-spy records every thread, idle or not, at the highest concurrency
(`--idle --threads --nonblocking`, 200 Hz; collapsed stacks in DIR/threads.txt) and the
threads holding the interpreter lock (`--gil`, DIR/gil.txt), and a table says what each group
of threads was doing: the innermost frame of each sample, put in a few states.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from tests.benchmarks._load import SECRET, plan_order
from tests.benchmarks._procs import REPO_ROOT, python_module
from tests.benchmarks._report import percentile, table
from tests.benchmarks._throughput import drained_cpu_ms
from tests.benchmarks.cpu_per_kind import PY_SPY, subject

WARMUP = 50
STATES = (  # (what the innermost frame shows, the state it is put in), first match wins
    ("concurrent/futures/thread.py:81", "idle (no work after an ack queued)"),
    ("handler_thread", "idle (no request to answer)"),
    ("_on_begin", "waiting for the SQLite writer lock"),
    ("._take ", "waiting for the SQLite writer lock"),
    ("poll (waitress", "waitress loop: waiting for sockets"),
    ("readinto (socket", "a Slack call (the stand-in)"),
    ("create_connection", "a Slack call (the stand-in)"),
    ("getaddrinfo", "a Slack call (the stand-in)"),
    ("do_execute", "a database call"),
    ("fetch", "a database call"),
    ("do_commit", "a database call"),
    ("(waitress/wasyncore", "waitress: socket reads and writes"),
    ("_physical_pull", "waitress: socket reads and writes"),
)
RUNNING = "Python: holding the interpreter lock or waiting for it"


def _tasks(pid: int) -> dict[str, tuple[int, int]]:
    """Each thread's context switches so far and nanoseconds waiting for a core."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
            waited = int((task / "schedstat").read_text().split()[1])
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        switches = int(fields["voluntary_ctxt_switches"]) + int(
            fields["nonvoluntary_ctxt_switches"]
        )
        found[task.name] = (switches, waited)
    return found


@contextmanager
def _spy(pid: int, out: Path, *flags: str) -> Any:
    args = [str(PY_SPY), "record", "--pid", str(pid), "--format", "raw", "-o", str(out)]
    spy = subprocess.Popen(
        [*args, "--rate", "200", "--nonblocking", "--threads", *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    try:
        yield
    finally:
        spy.send_signal(2)
        spy.wait(timeout=60)


def _run(pid: int, url: str, plan: Path, concurrency: int, count: int, folder: Path) -> list[Any]:
    """One load generator run; its row of figures."""
    before_cpu, _ = drained_cpu_ms(pid)
    before = _tasks(pid)
    started = time.monotonic()
    out = folder / f"c{concurrency}.json"
    args = ["--url", url, "--secret", SECRET, "--plan", str(plan), "--count", str(count)]
    args += ["--concurrency", str(concurrency), "--warmup", str(WARMUP), "--out", str(out)]
    proc = python_module(
        f"loadgen-c{concurrency}", "tests.benchmarks.loadgen", args, env={}, log_dir=folder
    )
    assert proc.popen.wait(timeout=600) == 0, proc.log_tail()
    after_cpu, _ = drained_cpu_ms(pid)
    wall = time.monotonic() - started
    after = _tasks(pid)
    figures = json.loads(out.read_text(encoding="utf-8"))
    ms = [row[2] * 1000 for row in figures["rows"]]
    sent = count + WARMUP
    switches = sum(after[t][0] - before.get(t, (0, 0))[0] for t in after)
    waited = sum(after[t][1] - before.get(t, (0, 0))[1] for t in after) / 1e6
    return [
        concurrency,
        round(len(ms) / figures["wall_seconds"], 1),
        round(percentile(ms, 50), 1),
        round(percentile(ms, 99), 1),
        round((after_cpu - before_cpu) / sent, 2),
        round(switches / sent, 1),
        round((after_cpu - before_cpu) / 1000 / wall, 2),
        round(waited / sent, 2),
    ]


def summarize(path: Path) -> list[list[Any]]:
    """Share of each thread group's samples in each state."""
    by_group: dict[str, Counter[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack.startswith("thread") or not count.isdigit():  # a frame broken over lines
            continue
        frames = stack.split(";")
        name = frames[0].split(": ")[-1]
        group = "after-ack (Bolt's pool)" if "ThreadPool" in name else name
        group = "HTTP (waitress)" if group.startswith("waitress") else group
        group = "waitress loop" if group == "MainThread" else group
        inner = f"{frames[-1]} {';'.join(frames[-6:])}"
        state = next((s for key, s in STATES if key in inner), RUNNING)
        by_group.setdefault(group, Counter())[state] += int(count)
    rows = []
    for group, states in sorted(by_group.items()):
        total = sum(states.values())
        for state, n in states.most_common():
            rows.append([group, state, f"{100 * n / total:.1f}%"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--code", type=Path, default=REPO_ROOT)
    parser.add_argument("--profile", type=Path, default=None)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="concurrency-") as tmp, ExitStack() as stack:
        one = stack.enter_context(subject("bot", options.code, options.backend, Path(tmp) / "bot"))
        plan = Path(tmp) / "plan.json"
        templates = [t.as_json() for t in one.workload.templates]
        order = plan_order(options.requests + WARMUP, len(templates))
        plan.write_text(json.dumps({"templates": templates, "order": order}), encoding="utf-8")
        pid, rows = one.bot.popen.pid, []
        for concurrency in options.concurrency:
            with ExitStack() as spying:
                if options.profile is not None and concurrency == max(options.concurrency):
                    options.profile.mkdir(parents=True, exist_ok=True)
                    spying.enter_context(_spy(pid, options.profile / "threads.txt", "--idle"))
                url = one.sender.client.url
                rows.append(_run(pid, url, plan, concurrency, options.requests, Path(tmp)))
        if options.profile is not None:
            with _spy(pid, options.profile / "gil.txt", "--gil"):
                _run(
                    pid,
                    one.sender.client.url,
                    plan,
                    max(options.concurrency),
                    options.requests,
                    Path(tmp),
                )
        assert one.bot.alive(), one.bot.log_tail()
    header = (
        "conc",
        "req/s",
        "p50 ms",
        "p99 ms",
        "CPU ms/req",
        "switches/req",
        "cores",
        "waited ms/req",
    )
    print(f"\nOne serving process, {options.backend}, {options.requests} requests each:")
    print(table(header, rows))
    if options.profile is not None:
        print(f"\nThread states at concurrency {max(options.concurrency)} (py-spy --idle):")
        print(table(("threads", "state", "share"), summarize(options.profile / "threads.txt")))


if __name__ == "__main__":
    main()
