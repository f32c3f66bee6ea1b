"""`serve` and `worker`: the long-running processes, Slack's requests and the worker's loops."""

from __future__ import annotations

import argparse
import gc

from bot import logs
from bot.cli.common import Commands, migrated_engine
from bot.config import Settings
from bot.storage.db import make_sessionmaker


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve Slack over HTTP (or Socket Mode when SLACK_APP_TOKEN is set), with the worker."""
    from bot import server
    from bot.web import StatusApp
    from bot.worker.runner import start_worker

    processes = server.serving_processes(args.processes, settings)
    settings.require_slack()
    migrated_engine(settings).dispose()
    if processes > 1:  # on one socket, under gunicorn
        from bot import prefork

        prefork.serve(settings, args, processes, settle=settle_garbage_collector)
        return 0
    logs.setup(settings.BOT_LOG_FORMAT)
    bot = server.assemble(settings)
    worker = None if args.no_worker else start_worker(settings=settings, sessions=bot.deps.sessions)
    bot.web.worker = worker.heartbeat if worker is not None else None
    settle_garbage_collector()
    try:
        if settings.SLACK_APP_TOKEN is not None:  # /healthz and /metrics still on the port
            status = StatusApp(engine=bot.engine, metrics=bot.web.metrics)
            status.worker = bot.web.worker
            with server.status_in_background(status, host=args.host, port=args.port):
                server.serve_socket_mode(bot, app_token=settings.SLACK_APP_TOKEN.get_secret_value())
        else:
            server.serve_http(bot, host=args.host, port=args.port)
    finally:
        if worker is not None:
            worker.stop()
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the reconcile loop and the outbox sender alone, until SIGINT or SIGTERM."""
    from bot import metrics, server
    from bot.web import StatusApp
    from bot.worker.runner import run_until_signalled, start_worker, stop_on_signals

    settings.require_slack_access()
    engine = migrated_engine(settings)
    logs.setup(settings.BOT_LOG_FORMAT)
    sessions = make_sessionmaker(engine)
    stop = stop_on_signals()  # before anything starts: a SIGTERM is never missed
    worker = start_worker(settings=settings, sessions=sessions)
    status = StatusApp(engine=engine, metrics=lambda: metrics.render(sessions))
    status.worker = worker.heartbeat
    settle_garbage_collector()
    with server.status_in_background(status, host=args.host, port=args.port):
        run_until_signalled(worker, stop)
    return 0


# Collect young objects in batches of this many allocations rather than Python's 700, and the
# older generations a twentieth as often as that (Python: a tenth).
GC_THRESHOLDS = (20_000, 20, 20)
WORKER_PORT = 3001


def settle_garbage_collector() -> None:
    """What the process made while starting (modules, the app, its clients) lives as long as
    it does: move it out of the cyclic collector's sight, and collect the rest less often.
    Under load a full collection walked all of it, a 77 ms pause with every thread stopped, four
    times in ten seconds of the ack benchmark; frozen, the pauses stay under 10 ms."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def register(commands: Commands) -> None:
    """Add `serve` and `worker`."""
    serve = commands.add_parser("serve", help="serve Slack requests (HTTP, or Socket Mode)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, default=3000, help="port (default 3000)")
    serve.add_argument(
        "--no-worker",
        action="store_true",
        help="serve requests only; run `worker` processes separately",
    )
    serve.add_argument(
        "--processes", type=int, help="serving processes (default: one per core on Postgres)"
    )
    serve.set_defaults(handler=cmd_serve)
    worker = commands.add_parser(
        "worker", help="the reconcile loop and the outbox sender alone (several may run)"
    )
    worker.add_argument("--host", default="0.0.0.0", help="address of /healthz and /metrics")
    worker.add_argument(
        "--port",
        type=int,
        default=WORKER_PORT,
        help=f"port of GET /healthz and GET /metrics (default {WORKER_PORT})",
    )
    worker.set_defaults(handler=cmd_worker)
