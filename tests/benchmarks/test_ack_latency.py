"""Ack latency of the bot against the floor of a bare Bolt app, at concurrency 1, 8 and 32.

Processes besides pytest: the bot (`python -m bot serve --no-worker`, on a migrated and seeded
SQLite file, or on a scratch Postgres database when TEST_DATABASE_URL is set); two floors
(`tests.benchmarks.floor_app`: Bolt, waitress and the WSGI adapter with listeners that only
ack): Bolt's default, which sends the ack from a thread of its own and polls for it every 10 ms
(given 16 threads: each request holds one for a poll at least, and fewer would queue it behind
the polls), and Bolt configured as the bot is (`process_before_response=True`, the bot's thread
count); and the Slack stand-in they all call. The load generator, a process of its own, sends
each the same mix of signed requests (see `_load`). The bot's p99 is compared with both floors';
the targets are judged against Bolt's default.

That is each app in one process. On Postgres, where `serve` runs one process per core by
default, the same three also run that way: the bot as `serve --no-worker` (gunicorn's arbiter
and waitress processes, `bot.prefork`) and the floors under the same gunicorn settings with as many
processes (`floor_app --processes N`), each floor with its thread count above.

Fails on any answer other than 200 and on any answer slower than Slack's 3 seconds; the latency
targets (p99 at most 1.5 × the floor's, and under 100 ms at concurrency 32) are reported as met
or missed. `BENCH_REQUESTS` (default 2000) and `BENCH_WARMUP` (default 200) set the requests
per setting.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from bot.server import usable_cores
from bot.slack.ids import CallbackId
from bot.storage.db import make_engine, make_sessionmaker
from bot.web import SLACK_PATH
from sandbox.slack_api import DEFAULT_TOKEN
from sandbox.slack_client import SlackRequestClient, new_trigger_id
from tests.benchmarks._db import BACKENDS, scratch_database
from tests.benchmarks._load import (
    EVENT_ID,
    SECRET,
    TRIGGER,
    VIEW_ID,
    Template,
    Workload,
    build_workload,
    plan_order,
    seed_world,
)
from tests.benchmarks._procs import Proc, free_port, python_module, serving
from tests.benchmarks._report import Latency, table, write_results
from tests.benchmarks._throughput import (
    THROUGHPUT_TARGET,
    Cost,
    MachineCpu,
    drained_cpu_ms,
    ratio,
    throughput_rows,
)
from tests.benchmarks.conftest import StandIn

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "200"))
CONCURRENCY = (1, 8, 32)
SLACK_LIMIT_SECONDS = 3.0
TARGET_RATIO = 1.5  # the bot's p99 at most this many times the floor's
TARGET_P99_AT_32_MS = 100.0
POLLING_FLOOR_THREADS = 16
LOADGEN_TIMEOUT = 600.0
FLOOR, BOT, EAGER_FLOOR = "floor", "bot", "floor (process_before_response)"
APPS = (FLOOR, BOT, EAGER_FLOOR)
CORES = usable_cores()  # the processes of `serve` on Postgres by default


def layouts(backend: str) -> list[int]:
    """The processes each app runs in: one; and on Postgres, `serve`'s default, one per core."""
    return [1, CORES] if backend == "postgres" and CORES > 1 else [1]


@dataclass(frozen=True)
class Run:
    """One app at one concurrency."""

    latency: Latency
    per_kind: dict[str, Latency]
    non_200: int
    over_3s: int
    errors: list[str]
    cores_busy: float = 0.0  # the whole machine's, on average over the run

    @classmethod
    def of(cls, figures: dict[str, Any]) -> Run:
        """Figures of a load generator's output."""
        kinds: list[str] = figures["kinds"]
        rows = [(int(i), int(status), float(s)) for i, status, s in figures["rows"]]
        wall = float(figures["wall_seconds"])
        per_kind: dict[str, list[float]] = defaultdict(list)
        for index, _, seconds in rows:
            per_kind[kinds[index]].append(seconds)
        return cls(
            latency=Latency.of([s for _, _, s in rows], wall=wall),
            per_kind={kind: Latency.of(v, wall=wall) for kind, v in per_kind.items()},
            non_200=sum(1 for _, status, _ in rows if status != 200),
            over_3s=sum(1 for _, _, s in rows if s > SLACK_LIMIT_SECONDS),
            errors=list(figures["errors"]),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency.as_json(),
            "per_kind_ms": {k: v.as_json() for k, v in self.per_kind.items()},
            "non_200": self.non_200,
            "over_3s": self.over_3s,
            "errors": self.errors,
            "machine_cores_busy": self.cores_busy,
        }


@dataclass(frozen=True)
class Setting:
    """Every app at one concurrency in as many processes each, and the bot against the floor."""

    concurrency: int
    processes: int
    runs: dict[str, Run]
    cost: Cost

    def ratio_to(self, floor_app: str) -> float:
        floor = self.runs[floor_app].latency.p99
        return round(self.runs[BOT].latency.p99 / floor, 2) if floor else float("nan")

    @property
    def ratio(self) -> float:
        return self.ratio_to(FLOOR)

    @property
    def targets(self) -> dict[str, str]:
        found = {"p99_within_1_5x_floor": _met(self.ratio <= TARGET_RATIO)}
        if self.concurrency == 32:
            found["p99_under_100ms"] = _met(self.runs[BOT].latency.p99 < TARGET_P99_AT_32_MS)
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "processes": self.processes,
            "p99_ratio_bot_to_floor": self.ratio,
            "p99_ratio_bot_to_eager_floor": self.ratio_to(EAGER_FLOOR),
            "bot_cpu_ms_per_request": self.cost.cpu_ms_per_request,
            "bot_drain_seconds": self.cost.drain_seconds,
            "targets": self.targets,
            **{app: run.as_json() for app, run in self.runs.items()},
        }


def _met(yes: bool) -> str:
    return "met" if yes else "missed"


@pytest.mark.benchmark
@pytest.mark.parametrize("backend", BACKENDS)
def test_ack_latency(backend: str, tmp_path: Path, standin_process: StandIn) -> None:
    with scratch_database(backend, tmp_path) as database_url:
        engine = make_engine(database_url)
        sessions = make_sessionmaker(engine)
        try:
            world = seed_world(sessions)
            workload = build_workload(
                sessions,
                world,
                api_url=standin_process.api_url,
                hooks_url=standin_process.hooks_url,
            )
        finally:
            engine.dispose()
        settings, bot_log = measure(
            workload, database_url, standin_process, tmp_path, layouts=layouts(backend)
        )
    report(backend, settings, workload, bot_log=bot_log)
    for setting in settings:
        for app, run in setting.runs.items():
            where = f"{app} ×{setting.processes} at concurrency {setting.concurrency}"
            assert run.non_200 == 0, f"{where}: {run.non_200} answers not 200: {run.errors}"
            assert run.over_3s == 0, f"{where}: {run.over_3s} answers over Slack's 3 s"


def measure(
    workload: Workload, database_url: str, standin: StandIn, folder: Path, *, layouts: list[int]
) -> tuple[list[Setting], dict[str, dict[str, int]]]:
    """Each app in each layout at each concurrency, in turn (both layouts see the database grow
    alike); and what each bot's log says went wrong."""
    env = {
        "SLACK_BOT_TOKEN": DEFAULT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": standin.api_url,
        "DATABASE_URL": database_url,
    }
    plan = folder / "plan.json"
    order = plan_order(REQUESTS + WARMUP, len(workload.templates))
    templates = [t.as_json() for t in workload.templates]
    plan.write_text(json.dumps({"templates": templates, "order": order}), encoding="utf-8")
    settings = []
    with ExitStack() as stack:
        urls, bots = {}, {}
        for processes in layouts:
            urls[processes], bots[processes] = start_apps(stack, processes, env=env, folder=folder)
        for processes in layouts:
            for app, url in urls[processes].items():
                check_answers(url, workload, standin, floor=app != BOT)
        for concurrency in CONCURRENCY:
            for processes in layouts:
                runs = {}
                bot = bots[processes]
                for index, app in enumerate(APPS):
                    out = folder / f"load-{index}-p{processes}-c{concurrency}.json"
                    if app == BOT:
                        before, _ = drained_cpu_ms(bot.popen.pid)
                    machine = MachineCpu.now()
                    figures = run_loadgen(urls[processes][app], plan, concurrency, out=out)
                    runs[app] = replace(Run.of(figures), cores_busy=machine.cores_busy_since())
                    if app == BOT:  # its work after the ack is paid for in its own run
                        after, drain = drained_cpu_ms(bot.popen.pid)
                        per_request = round((after - before) / (REQUESTS + WARMUP), 2)
                        cost = Cost(cpu_ms_per_request=per_request, drain_seconds=round(drain, 2))
                settings.append(
                    Setting(concurrency=concurrency, processes=processes, runs=runs, cost=cost)
                )
                assert bot.alive(), f"the bot died:\n{bot.log_tail()}"
    return settings, {f"bot ×{n}": _log_findings(bot) for n, bot in bots.items()}


def start_apps(
    stack: ExitStack, processes: int, *, env: dict[str, str], folder: Path
) -> tuple[dict[str, str], Proc]:
    """The bot and both floors, each in `processes` processes; their URLs, and the bot."""
    ports = {app: free_port() for app in APPS}
    urls = {app: f"http://127.0.0.1:{port}{SLACK_PATH}" for app, port in ports.items()}
    # one process: `--processes 1`, waitress; more: `serve`'s default on Postgres, gunicorn
    layout = ["--processes", "1"] if processes == 1 else []
    floor_layout = [] if processes == 1 else ["--processes", str(processes)]
    floor_args = ["--port", str(ports[FLOOR]), "--threads", str(POLLING_FLOOR_THREADS)]
    eager_args = ["--port", str(ports[EAGER_FLOOR]), "--process-before-response"]
    bot_args = ["serve", "--no-worker", "--host", "127.0.0.1", "--port", str(ports[BOT])]
    healthz = f"http://127.0.0.1:{ports[BOT]}/healthz"
    name = f"bot-x{processes}"
    bot = stack.enter_context(
        serving(name, "bot", [*bot_args, *layout], ready_url=healthz, env=env, log_dir=folder)
    )
    for floor, args in (("floor", floor_args), ("floor-eager", eager_args)):
        stack.enter_context(
            serving(
                f"{floor}-x{processes}",
                "tests.benchmarks.floor_app",
                [*args, *floor_layout],
                ready_url=urls[FLOOR if floor == "floor" else EAGER_FLOOR],
                env=env,
                log_dir=folder,
            )
        )
    return urls, bot


def _filled(template: Template, n: int) -> bytes:
    body = template.body.replace(TRIGGER, new_trigger_id()).replace(VIEW_ID, f"VBSMOKE{n}")
    body = body.replace(EVENT_ID, f"EvSMOKE{time.time_ns():X}")  # each app's first sight of it
    return body.encode("utf-8")


AFTER_ACK = ("views.open", "views.update", "views.publish", "response_url")


def check_answers(url: str, workload: Workload, standin: StandIn, *, floor: bool) -> None:
    """Send each request once: every answer is 200 and, from the bot, says what it should;
    the bot's work after the ack reaches the stand-in."""
    client = SlackRequestClient(url.removesuffix(SLACK_PATH), signing_secret=SECRET)
    before = {method: len(standin.remote.calls(method)) for method in AFTER_ACK}
    for n, template in enumerate(workload.templates):
        answer = client.post(_filled(template, n), content_type=template.content_type)
        assert answer.status == 200, f"{template.kind}: {answer.status} {answer.text[:300]}"
        if floor:
            continue
        assert template.expect in answer.text, f"{template.kind}: {answer.text[:500]}"
        if template.kind.startswith("submit") and '"errors"' not in template.expect:
            body = answer.json()
            assert body["response_action"] == "update", f"{template.kind}: {body}"
            assert body["view"]["callback_id"] == CallbackId.WIZARD, f"{template.kind}: {body}"
    if floor:
        return
    for method in AFTER_ACK:
        calls = standin.remote.wait_for(method, count=before[method] + 1, timeout=10)
        assert calls[-1].ok, f"{method} after the ack: {calls[-1].response}"
    (update,) = standin.remote.calls("views.update")[before["views.update"] :]
    assert update.args["view_id"] == workload.toggle_view_id


def run_loadgen(url: str, plan: Path, concurrency: int, *, out: Path) -> dict[str, Any]:
    """Run the load generator as its own process; its figures."""
    args = [
        *("--url", url, "--secret", SECRET, "--plan", str(plan)),
        *("--concurrency", str(concurrency), "--count", str(REQUESTS)),
        *("--warmup", str(WARMUP), "--out", str(out)),
    ]
    name = f"loadgen-{out.stem}"
    proc = python_module(name, "tests.benchmarks.loadgen", args, env={}, log_dir=out.parent)
    try:
        code = proc.popen.wait(timeout=LOADGEN_TIMEOUT)
    finally:
        proc.stop()
    assert code == 0, f"the load generator failed:\n{proc.log_tail()}"
    figures: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return figures


def _log_findings(bot: Proc) -> dict[str, int]:
    text = bot.log_path.read_text(encoding="utf-8", errors="replace")
    return {
        "after_ack_failures": text.count("failed after the ack"),
        "tracebacks": text.count("Traceback (most recent call last)"),
        "database_locked": text.count("database is locked"),
    }


def report(
    backend: str,
    settings: list[Setting],
    workload: Workload,
    *,
    bot_log: dict[str, dict[str, int]],
) -> None:
    """Print the tables and write `bench-results/ack_latency_<backend>.json`."""
    rows = []
    for setting in settings:
        for app, run in setting.runs.items():
            figures = run.latency
            is_bot = app == BOT
            rows.append(
                (
                    setting.concurrency,
                    setting.processes,
                    app,
                    figures.count,
                    figures.p50,
                    figures.p95,
                    figures.p99,
                    figures.max,
                    figures.rps,
                    run.non_200,
                    f"{run.cores_busy:.2f}",
                    f"{setting.ratio:.2f}" if is_bot else "",
                    f"{setting.ratio_to(EAGER_FLOOR):.2f}" if is_bot else "",
                    ", ".join(f"{k} {v}" for k, v in setting.targets.items()) if is_bot else "",
                )
            )
    header = (
        *("conc", "procs", "app", "n", "p50", "p95", "p99", "max", "req/s", "non-200"),
        *("cores busy", "p99/floor", "p99/eager floor"),
    )
    print(f"\nAck latency, {backend}, {REQUESTS} requests per setting, in ms (procs: each app's")
    print("serving processes; one under waitress, more under gunicorn's arbiter; cores busy:")
    print(f"the whole machine's, of {os.cpu_count()}, on average over the run):")
    print(table((*header, "targets"), rows))
    kinds = [t.kind for t in workload.templates]
    print("\nThe bot by request kind, p50 / p99 in ms:")
    print(
        table(
            ("kind", *(f"c={s.concurrency} ×{s.processes}" for s in settings)),
            [(kind, *(_p50_p99(s.runs[BOT].per_kind[kind]) for s in settings)) for kind in kinds],
        )
    )
    print(f"bot log: {bot_log}")
    rates = throughput(settings)
    costs: dict[int, dict[int, Cost]] = {s.processes: {} for s in settings}
    for setting in settings:
        costs[setting.processes][setting.concurrency] = setting.cost
    print(
        f"\nRequests a second at concurrency {' / '.join(str(c) for c in CONCURRENCY)}, and the "
        f"ratio of {CONCURRENCY[-1]} to {CONCURRENCY[0]} (target for the bot in one process: at "
        f"least {THROUGHPUT_TARGET}); the bot's CPU ms per request, its processes' own, work after "
        "the ack included:"
    )
    print(
        table(
            ("procs", "app", *(f"c={c}" for c in CONCURRENCY), "ratio", "bot CPU ms", "target"),
            throughput_rows(rates, costs, BOT),
        )
    )
    path = write_results(
        f"ack_latency_{backend}",
        {
            "backend": backend,
            "requests_per_setting": REQUESTS,
            "processes": sorted({s.processes for s in settings}),
            "warmup": WARMUP,
            "mix": kinds,
            "targets": {
                "p99_ratio_to_floor_at_most": TARGET_RATIO,
                "p99_at_concurrency_32_under_ms": TARGET_P99_AT_32_MS,
            },
            "settings": [s.as_json() for s in settings],
            "throughput": [
                {"processes": processes, "app": app, "rps": rps, "ratio": ratio(rps)}
                for (processes, app), rps in throughput(settings).items()
            ],
            "bot_log": bot_log,
        },
    )
    print(f"figures written to {path}")


def throughput(settings: list[Setting]) -> dict[tuple[int, str], dict[int, float]]:
    """Requests a second of each app in each layout, by concurrency."""
    found: dict[tuple[int, str], dict[int, float]] = {}
    for setting in settings:
        for app, run in setting.runs.items():
            found.setdefault((setting.processes, app), {})[setting.concurrency] = run.latency.rps
    return found


def _p50_p99(latency: Latency) -> str:
    return f"{latency.p50:.1f} / {latency.p99:.1f}"
