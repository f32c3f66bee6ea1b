"""CPU milliseconds per request of each kind, in the serving process (not wall time).

`python -m tests.benchmarks.cpu_per_kind [--requests N] [--rounds R] [--backend sqlite|postgres]
[--against DIR] [--profile DIR] [--kinds SUBSTRING…]`

Runs `python -m bot serve --no-worker` and the Slack stand-in as processes on a scratch
database seeded as the ack-latency benchmark's (`_load.seed_world`), then sends each request
kind of its workload N times, one at a time, and reads the serving process's CPU time (user +
system, all its threads, from `/proc/<pid>/stat`) before the first and after the last, once
the work after the ack has finished too (the process's CPU time stops moving). Endpoints are
backdated after the warm-up, so pages that show ages stand still; the Home tab is measured
also when its page changed (after a submission that adds an endpoint to the user's project).
Wall latency is what the machine's other load decides; CPU time per request is what this
process costs.

With `--against DIR` (another checkout, e.g. `git archive HEAD | tar -x -C DIR`), a second
bot runs from there, on a database and stand-in of its own seeded by this checkout's code,
and the two take turns kind by kind: before and after, measured under the same load.

With `--profile DIR`, a second pass records each kind with py-spy (`DIR/<kind>.txt`, collapsed
stacks: `frame;frame;… count`); CPU figures are taken only from the pass without py-spy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.storage.db import make_engine, make_sessionmaker
from sandbox.slack_api import DEFAULT_TOKEN
from sandbox.slack_client import SlackRequestClient, new_trigger_id
from tests.benchmarks._db import scratch_database
from tests.benchmarks._load import (
    EVENT_ID,
    SECRET,
    TRIGGER,
    VIEW_ID,
    Template,
    Workload,
    build_workload,
    seed_world,
)
from tests.benchmarks._procs import REPO_ROOT, Proc, free_port, serving, wait_until_ready

TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")
SETTLE_SECONDS = 0.2  # the CPU clock must stand still twice this long after the last answer
WARMUP_EACH = 20
PY_SPY = Path(sys.executable).with_name("py-spy")


def cpu_ms(pid: int) -> float:
    """User + system CPU time of every thread of `pid` so far, in ms."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_MS  # utime, stime (fields 14 and 15)


def settled_cpu_ms(pid: int) -> float:
    """The process's CPU time once its work after the ack has finished."""
    last, still = cpu_ms(pid), 0
    while still < 2:
        time.sleep(SETTLE_SECONDS)
        now = cpu_ms(pid)
        still = still + 1 if now == last else 0
        last = now
    return last


@dataclass(frozen=True)
class Figure:
    kind: str
    requests: int
    cpu_ms: float
    wall_ms: float

    @property
    def cpu_per_request(self) -> float:
        return self.cpu_ms / self.requests


class Sender:
    """Sends a template's request, filled in and signed as Slack would."""

    def __init__(self, url: str) -> None:
        self.client = SlackRequestClient(url, signing_secret=SECRET)
        self.count = 0

    def send(self, template: Template) -> None:
        self.count += 1
        body = template.body.replace(TRIGGER, new_trigger_id())
        body = body.replace(VIEW_ID, f"VCPU{os.getpid():X}X{self.count}")
        body = body.replace(EVENT_ID, f"EvCPU{os.getpid():X}X{self.count}")
        answer = self.client.post(body.encode("utf-8"), content_type=template.content_type)
        if answer.status != 200 or template.expect not in answer.text:
            raise RuntimeError(f"{template.kind}: {answer.status} {answer.text[:300]}")


def measure(bot: Proc, sender: Sender, template: Template, requests: int) -> Figure:
    """CPU and wall time of `requests` sequential requests of one kind, work after the ack
    included."""
    pid = bot.popen.pid
    before = settled_cpu_ms(pid)
    started = time.monotonic()
    for _ in range(requests):
        sender.send(template)
    after = settled_cpu_ms(pid)
    wall = (time.monotonic() - started - 2 * SETTLE_SECONDS) * 1000.0
    return Figure(template.kind, requests, after - before, wall / requests)


@contextmanager
def py_spy(pid: int, out: Path) -> Iterator[None]:
    """py-spy recording `pid` (collapsed stacks to `out`) while the block runs."""
    args = [str(PY_SPY), "record", "--pid", str(pid), "--format", "raw", "-o", str(out)]
    spy = subprocess.Popen(
        [*args, "--rate", "250", "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    try:
        yield
    finally:
        spy.send_signal(2)
        spy.wait(timeout=30)


@dataclass
class Subject:
    """One bot under measurement: its process, its seeded workload, and a sender to it."""

    name: str
    bot: Proc
    workload: Workload
    sender: Sender
    database_url: str


def start_bot(
    name: str, code: Path, database_url: str, api_url: str, folder: Path
) -> tuple[Proc, str]:
    """`python -m bot serve --no-worker` from the checkout `code`, ready to answer."""
    port = free_port()
    env = os.environ | {
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SLACK_APP_TOKEN", None)
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as log:
        popen = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--no-worker", "--port", str(port)],
            cwd=code,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    proc = Proc(name=name, popen=popen, log_path=log_path)
    try:
        wait_until_ready(proc, f"http://127.0.0.1:{port}/healthz")
    except BaseException:
        proc.stop()
        raise
    return proc, f"http://127.0.0.1:{port}"


def stamp_as(code: Path, database_url: str) -> None:
    """Mark the database as migrated to the head of the checkout `code` (its schema, made by
    this checkout's migrations, has all the older one reads), so that its bot will start."""
    head = ScriptDirectory(str(code / "migrations")).get_current_head()
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
    finally:
        engine.dispose()


@contextmanager
def seeded(backend: str, folder: Path) -> Iterator[tuple[str, str, Workload]]:
    """The stand-in (a process) and a scratch database seeded as the ack-latency benchmark's:
    the stand-in's root URL, the database's URL and the workload against them."""
    port = free_port()
    root = f"http://127.0.0.1:{port}/"
    standin_args = ["--port", str(port), "--trigger-ttl", "0"]
    ready = f"{root}_standin/calls?method=auth.test"
    with (
        serving("standin", "sandbox.slack", standin_args, ready_url=ready, env={}, log_dir=folder),
        scratch_database(backend, folder) as database_url,
    ):
        engine = make_engine(database_url)
        try:
            sessions = make_sessionmaker(engine)
            workload = build_workload(
                sessions, seed_world(sessions), api_url=f"{root}api/", hooks_url=f"{root}hooks/"
            )
        finally:
            engine.dispose()
        yield root, database_url, workload


@contextmanager
def subject(name: str, code: Path, backend: str, folder: Path) -> Iterator[Subject]:
    """The stand-in and a bot from `code` on a seeded scratch database of its own."""
    folder.mkdir()
    with seeded(backend, folder) as (root, database_url, workload):
        if code != REPO_ROOT:
            stamp_as(code, database_url)
        bot, url = start_bot(name, code, database_url, f"{root}api/", folder)
        try:
            yield Subject(name, bot, workload, Sender(url), database_url)
        finally:
            bot.stop()


def backdate(database_url: str) -> None:
    """Make every endpoint two days old, so that the ages pages show stand still while the
    kinds are measured (a page showing `42s` changes every second)."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE private_endpoint SET created_at = :then"),
                {"then": datetime.now(UTC) - timedelta(days=2)},
            )
    finally:
        engine.dispose()


def changed_home(bot: Proc, sender: Sender, workload: Workload, requests: int) -> Figure:
    """The Home tab when its page changed: each request follows a submission that adds an
    endpoint to the user's project, and the submission's own cost is taken off."""
    (home,) = [t for t in workload.templates if t.kind == "event app_home_opened"]
    (new,) = [t for t in workload.templates if t.kind == "submit service_endpoint (new)"]
    alone = measure(bot, sender, new, requests)
    pid = bot.popen.pid
    before = settled_cpu_ms(pid)
    for _ in range(requests):
        sender.send(new)
        sender.send(home)
    after = settled_cpu_ms(pid)
    return Figure(f"{home.kind} (page changed)", requests, after - before - alone.cpu_ms, 0.0)


def measure_round(subjects: list[Subject], requests: int, kinds: list[str]) -> list[list[Figure]]:
    """One round of every chosen kind, the bots taking turns kind by kind (so that both see
    the same load of the machine); each bot's figures."""
    found: list[list[Figure]] = [[] for _ in subjects]
    for index, template in enumerate(subjects[0].workload.templates):
        if kinds and not any(k in template.kind for k in kinds):
            continue
        for one, figures in zip(subjects, found, strict=True):
            figures.append(measure(one.bot, one.sender, one.workload.templates[index], requests))
    if not kinds or any(k in "event app_home_opened" for k in kinds):
        for one, figures in zip(subjects, found, strict=True):
            figures.append(changed_home(one.bot, one.sender, one.workload, requests))
    return found


def profile_all(one: Subject, requests: int, kinds: list[str], folder: Path) -> None:
    """Collapsed stacks of each chosen kind, recorded by py-spy."""
    folder.mkdir(parents=True, exist_ok=True)
    for template in one.workload.templates:
        if kinds and not any(k in template.kind for k in kinds):
            continue
        name = template.kind.replace(" ", "_").replace("(", "").replace(")", "")
        with py_spy(one.bot.popen.pid, folder / f"{name}.txt"):
            for _ in range(requests):
                one.sender.send(template)
            settled_cpu_ms(one.bot.popen.pid)
    if not kinds or any(k in "event app_home_opened" for k in kinds):
        with py_spy(one.bot.popen.pid, folder / "event_app_home_opened_page_changed.txt"):
            changed_home(one.bot, one.sender, one.workload, requests)


def run(options: argparse.Namespace) -> dict[str, list[Figure]]:
    """Each chosen kind's figures on each bot (the least of the rounds), after a warm-up; with
    `--against`, the two bots take turns, kind by kind, under the same load."""
    codes = {"this": REPO_ROOT} | ({"against": options.against} if options.against else {})
    with tempfile.TemporaryDirectory(prefix="cpu-per-kind-") as tmp, ExitStack() as stack:
        subjects = [
            stack.enter_context(subject(name, code, options.backend, Path(tmp) / name))
            for name, code in codes.items()
        ]
        for one in subjects:
            for _ in range(WARMUP_EACH):
                for template in one.workload.templates:
                    one.sender.send(template)
            backdate(one.database_url)
        best: dict[str, list[Figure]] = {}
        for _ in range(options.rounds):  # the least of each kind's rounds: noise only adds
            found = measure_round(subjects, options.requests, options.kinds)
            for one, figures in zip(subjects, found, strict=True):
                kept = best.get(one.name, figures)
                best[one.name] = [
                    min(a, b, key=lambda f: f.cpu_ms) for a, b in zip(kept, figures, strict=True)
                ]
        if options.profile is not None:
            for one in subjects:
                profile_all(one, options.requests, options.kinds, options.profile / one.name)
        for one in subjects:
            if not one.bot.alive():
                raise RuntimeError(f"{one.name} died:\n{one.bot.log_tail()}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--against", type=Path, default=None)
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--kinds", nargs="*", default=[])
    options = parser.parse_args()
    best = run(options)
    print(
        f"\nCPU ms per request of the serving process ({options.backend}, {options.requests} "
        f"each, the least of {options.rounds} rounds; wall ms in brackets):"
    )
    names = list(best)
    print(f"{'kind':<38}" + "".join(f"{name:>18}" for name in names))
    for figures in zip(*best.values(), strict=True):
        cells = "".join(f"{f.cpu_per_request:>9.2f} ({f.wall_ms:>5.1f})" for f in figures)
        print(f"{figures[0].kind:<38}{cells}")
    means = "".join(
        f"{sum(f.cpu_per_request for f in best[name]) / len(best[name]):>18.2f}" for name in names
    )
    print(f"{'mean of the kinds':<38}{means}")


if __name__ == "__main__":
    main()
