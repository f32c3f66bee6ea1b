"""Several serving processes on one listening socket, for `python -m bot serve --processes N`
on Postgres: gunicorn's arbiter forks them, and each answers with waitress, as one process does
(`bot.serving_process`: slow and idle clients hold no serving thread).

What it guarantees:

- The bot is assembled once, in the arbiter, before any fork, and no thread runs there. Each
  serving process drops the database pool it inherited (`engine.dispose(close=False)`) before
  its first request: no connection is ever shared across a fork.
- The worker (the reconcile loop and the outbox sender) runs in exactly one serving process.
  Each tries a non-blocking `flock` on `worker.lock` in the serve's runtime folder every
  couple of seconds; the holder starts the worker and its `/healthz` reports it. A holder that
  dies, even by SIGKILL, releases the lock with its last file descriptor, another process takes
  over at its next try, and gunicorn forks a replacement. (Workers claim their work in the
  database, so a short overlap would be harmless.)
- `/metrics` sums counters and histograms over every serving process, dead ones included:
  prometheus_client's multiprocess mode, whose folder must be set before prometheus_client is
  imported. `serve` therefore runs itself again (`reexec`) with a new runtime folder in
  `PROMETHEUS_MULTIPROC_DIR`, and the arbiter removes the folder when it stops.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from gunicorn import glogging  # type: ignore[import-untyped]
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
from prometheus_client import Gauge, multiprocess

from bot import cores, logs
from bot.config import Settings
from bot.server import Bot, assemble, raise_open_files_limit
from bot.serving_process import WaitressProcess
from bot.web import SLACK_PATH
from bot.worker.runner import Worker, start_worker

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("bot.prefork")

RUNTIME_ENV = "PRIVATELINK_BOT_SERVE_RUNTIME"  # "<pid>:<folder>", set by `reexec` for itself
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"
LOCK_RETRY_SECONDS = 2.0
WORKER_STOP_SECONDS = 5.0

GUNICORN_LIMITS: dict[str, Any] = {
    "timeout": 30,  # a process silent this long to the arbiter is killed and replaced
    "graceful_timeout": 10,  # on SIGTERM, requests in flight get this long to finish
}
"""What the arbiter enforces. gunicorn reads no HTTP here: each process's waitress does, with
`bot.server.LIMITS` (connections, idle time, header and body sizes), as in one process."""

WORKER_HERE = Gauge(
    "privatelink_serve_worker_running",
    "1 in the serving process that runs the worker (reconcile loop and outbox sender), 0 in "
    "the others; one line per live serving process of `serve --processes`, by pid.",
    multiprocess_mode="liveall",
    registry=None,  # read from every process's files by /metrics (bot.observability)
)
SLACK_ANSWERS = Gauge(
    "privatelink_serve_slack_answers",
    "Slack requests each live serving process of `serve --processes` has answered since it "
    "started, by pid: how evenly the processes share them.",
    multiprocess_mode="liveall",
    registry=None,  # read from every process's files by /metrics (bot.observability)
)


def runtime_dir() -> Path | None:
    """The runtime folder `reexec` gave this very process, or None (never ran it)."""
    pid, _, folder = os.environ.get(RUNTIME_ENV, "").partition(":")
    return Path(folder) if pid == str(os.getpid()) and folder else None


def reexec(argv: Sequence[str]) -> NoReturn:
    """Run `python -m bot <argv>` again in this process, with a new private runtime folder and
    prometheus_client's multiprocess mode on from the start."""
    folder = Path(tempfile.mkdtemp(prefix="privatelink-bot-serve-"))
    (folder / "metrics").mkdir()
    os.environ[RUNTIME_ENV] = f"{os.getpid()}:{folder}"
    os.environ[METRICS_ENV] = str(folder / "metrics")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "bot", *argv])


def gunicorn_options(*, host: str, port: int, processes: int, threads: int) -> dict[str, Any]:
    """gunicorn's settings: `processes` serving processes of `threads` threads on host:port."""
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": processes,
        "worker_class": WaitressProcess,
        "threads": threads,
        "control_socket_disable": True,  # no thread in the arbiter, no socket in $HOME
        "logger_class": BotLogs,
        "proc_name": "privatelink-bot",
        **GUNICORN_LIMITS,
    }


class BotLogs(glogging.Logger):  # type: ignore[misc]
    """gunicorn's own messages through the bot's log handlers (text, or JSON lines)."""

    def setup(self, cfg: Any) -> None:
        """gunicorn's setup, then its error log handed to the root logger's handlers."""
        super().setup(cfg)
        for handler in list(self.error_log.handlers):
            self.error_log.removeHandler(handler)
        self.error_log.propagate = True


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """gunicorn's documented custom application: a WSGI app built before the fork, and
    gunicorn's settings given as a dict (nothing read from files or the environment)."""

    def __init__(self, app: WSGIApplication, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Apply the settings given that this gunicorn knows (gunicorn 23 has no control
        socket, so nothing to turn off)."""
        for key, value in self.options.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self) -> WSGIApplication:
        """The WSGI app, already built."""
        return self.application


class Hooks:
    """What gunicorn calls around the bot's serving processes (each its own copy after fork)."""

    def __init__(self, bot: Bot, *, runtime: Path, worker: bool) -> None:
        self.bot = bot
        self.lock_path = runtime / "worker.lock"
        self.worker_wanted = worker
        self.arbiter = os.getpid()  # made before the fork: in the arbiter
        self.stopping = threading.Event()
        self.worker: Worker | None = None

    def options(self) -> dict[str, Callable[..., None]]:
        """The hooks as gunicorn settings."""
        return {
            "pre_fork": self.pre_fork,
            "post_fork": self.post_fork,
            "post_worker_init": self.post_worker_init,
            "worker_exit": self.worker_exit,
            "child_exit": self.child_exit,
        }

    def pre_fork(self, arbiter: Any, process: Any) -> None:
        """In the arbiter, a serving process about to be forked: the core it will run on, the
        one the fewest of those alive hold (`bot.cores`), when the settings want it."""
        process.core = None
        if self.bot.deps.settings.BOT_PIN_TO_CORE:
            taken = [getattr(other, "core", None) for other in arbiter.WORKERS.values()]
            process.core = cores.choose(cores.allowed(), taken, salt=cores.host_salt())

    def post_fork(self, arbiter: Any, process: Any) -> None:
        """In a new serving process: forget the arbiter's pooled connections, unclosed."""
        self.bot.engine.dispose(close=False)

    def post_worker_init(self, process: Any) -> None:
        """A serving process is about to take requests: put it on its core, show it, and seek
        the worker lock."""
        cores.pin(getattr(process, "core", None))
        WORKER_HERE.set(0)
        if self.worker_wanted:
            threading.Thread(target=self._seek_worker_lock, name="worker-lock", daemon=True).start()

    def _seek_worker_lock(self) -> None:
        """Try the lock every LOCK_RETRY_SECONDS; once held (until this process ends), run the
        worker here. A worker that cannot start, or whose loop ends, ends this serving process
        (after its requests in flight): the lock passes to another, and gunicorn forks anew."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)  # this process's own
        while not self._locked(fd):
            if self.stopping.wait(LOCK_RETRY_SECONDS):
                os.close(fd)
                return
        if self._run_worker():
            return  # the process is stopping: the lock goes with its last descriptor
        os.close(fd)
        os.kill(os.getpid(), signal.SIGTERM)

    @staticmethod
    def _locked(fd: int) -> bool:
        """Whether this process now holds the worker lock."""
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _run_worker(self) -> bool:
        """Run the worker here until the process stops (True), or it fails (False)."""
        try:
            self.worker = start_worker(
                settings=self.bot.deps.settings, sessions=self.bot.deps.sessions
            )
        except Exception:
            log.exception("serving process %s cannot start the worker", os.getpid())
            return False
        self.bot.web.worker = self.worker.heartbeat
        WORKER_HERE.set(1)
        log.info("serving process %s runs the worker", os.getpid())
        while not self.stopping.wait(LOCK_RETRY_SECONDS):
            if not self.worker.alive():
                log.error("a worker loop in serving process %s ended; ending it", os.getpid())
                return False
        return True

    def worker_exit(self, arbiter: Any, process: Any) -> None:
        """A serving process ends: stop seeking the lock, and stop the worker if it runs here.
        (gunicorn may call this in the arbiter too, for a process already gone: nothing to do
        there, and the arbiter's copy must stay unset for the processes it forks later.)"""
        if os.getpid() == self.arbiter:
            return
        self.stopping.set()
        if self.worker is not None:
            self.worker.stop(timeout=WORKER_STOP_SECONDS)

    def child_exit(self, arbiter: Any, process: Any) -> None:
        """In the arbiter, a serving process ended: drop its per-process gauges."""
        multiprocess.mark_process_dead(process.pid)  # type: ignore[no-untyped-call]


def counting_slack_answers(app: WSGIApplication) -> WSGIApplication:
    """`app`, counting in SLACK_ANSWERS the Slack requests this process has answered (before
    the answer is sent, so a client that has it can see it counted)."""

    def counted(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        answer = app(environ, start_response)
        if environ.get("PATH_INFO") == SLACK_PATH:
            SLACK_ANSWERS.inc()
        return answer

    return counted


def serve(
    settings: Settings, args: argparse.Namespace, processes: int, *, settle: Callable[[], None]
) -> None:
    """`serve --processes N` (N > 1) with the serve command's arguments (host, port,
    no_worker): runs itself again first (see `reexec`), then serves Slack's requests until
    SIGINT or SIGTERM. `settle` runs in the arbiter once the bot is built, before any fork."""
    runtime = runtime_dir()
    if runtime is None:
        argv = ["serve", "--host", args.host, "--port", str(args.port), "--processes"]
        reexec([*argv, str(processes), *(["--no-worker"] if args.no_worker else [])])
    arbiter = os.getpid()
    try:
        logs.setup(settings.BOT_LOG_FORMAT)
        raise_open_files_limit()  # for the arbiter and the processes it forks
        bot = assemble(settings)
        options = gunicorn_options(
            host=args.host, port=args.port, processes=processes, threads=settings.BOT_HTTP_THREADS
        )
        options |= Hooks(bot, runtime=runtime, worker=not args.no_worker).options()
        options["worker_tmp_dir"] = str(runtime)
        bot.engine.dispose()  # nothing the arbiter opened reaches a serving process
        multiprocess.mark_process_dead(arbiter)  # type: ignore[no-untyped-call]  # serves none
        settle()
        log.info("serving HTTP on %s:%s from %s processes", args.host, args.port, processes)
        GunicornServer(counting_slack_answers(bot.web), options).run()
    finally:  # serving processes leave through here too, on their way out
        if os.getpid() == arbiter:
            shutil.rmtree(runtime, ignore_errors=True)
