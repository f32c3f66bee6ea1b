"""Assembling and running the bot: HTTP under waitress, or Socket Mode."""

from __future__ import annotations

import functools
import logging
import math
import os
import resource
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from slack_bolt.adapter.socket_mode import SocketModeHandler
from sqlalchemy import Engine
from waitress.server import BaseWSGIServer, create_server

from bot import cores, metrics, serving_loop
from bot.config import ConfigError, Settings
from bot.slack import oauth
from bot.slack.app import build_app
from bot.slack.deps import Deps
from bot.slack.gate import MAX_BODY
from bot.slack.listeners.installs import resume_posts
from bot.storage.db import database_url, make_engine, make_sessionmaker
from bot.web import StatusApp, WebApp

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

log = logging.getLogger("bot.server")
CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"  # cgroup v2: "<quota> <period>", or "max <period>"

LIMITS: dict[str, Any] = {
    "connection_limit": 1000,  # open connections at once (waitress: 100)
    "channel_timeout": 15,  # seconds a connection may sit idle or half-sent (waitress: 120)
    "cleanup_interval": 5,  # how often idle connections are looked for (waitress: 30)
    "max_request_header_size": 16 * 1024,  # Slack sends a few hundred bytes (waitress: 256 KB)
    "max_request_body_size": MAX_BODY,  # 413 before the body is buffered (waitress: 1 GB)
    "asyncore_use_poll": True,  # poll(2): select(2) fails on descriptors past 1023
}
"""What a Slack bot needs of waitress: Slack's requests are small and quick, so a client that
holds a connection without finishing its request is cut off within seconds, and a thousand of
them cannot starve Slack's own requests for longer than that. waitress reads every request whole
in its event loop before a thread sees it: a slow client never holds a serving thread."""
IDENT = "privatelink-bot"  # waitress's Server header
LOOP_SECONDS = 1.0  # the longest one turn of the event loop waits for a socket
OPEN_FILES = 4096
"""The soft open-files limit `serve` raises itself to (as far as the hard limit allows): its
1,000 connections, with the database's, logs and metrics files to spare. Many systems start
processes at 1,024."""


@dataclass(frozen=True, slots=True)
class Bot:
    deps: Deps
    engine: Engine
    web: WebApp


def assemble(settings: Settings) -> Bot:
    """The database, the Bolt app and the WSGI app, from settings."""
    engine = make_engine(
        settings.DATABASE_URL.get_secret_value(), sqlite_synchronous=settings.BOT_SQLITE_SYNCHRONOUS
    )
    sessions = make_sessionmaker(engine)
    deps = Deps(sessions=sessions, settings=settings)
    installs = None
    if settings.oauth:
        resume = functools.partial(resume_posts, sessions)
        installs = oauth.installation_store(settings, engine, installed=resume)
    app = build_app(deps, installs=installs)
    _, signing_secret = settings.require_slack()
    web = WebApp(
        app=app,
        engine=engine,
        metrics=lambda: metrics.render(sessions),
        signing_secret=signing_secret,
        api_url=settings.SLACK_API_URL,
    )
    return Bot(deps=deps, engine=engine, web=web)


def serving_processes(asked: int | None, settings: Settings) -> int:
    """How many processes `serve` runs: as asked, else one per core on Postgres; SQLite (one
    writer at a time) and Socket Mode (one connection to Slack) take one."""
    if asked is not None and asked < 1:
        raise ConfigError(f"--processes: must be 1 or more, not {asked}")
    if settings.SLACK_APP_TOKEN is not None:
        if asked is not None and asked > 1:
            raise ConfigError(
                "--processes: Socket Mode takes one process (one connection to Slack); "
                "unset SLACK_APP_TOKEN to serve HTTP from more"
            )
        return 1
    if database_url(settings.DATABASE_URL.get_secret_value()).get_backend_name() == "sqlite":
        if asked is not None and asked > 1:
            raise ConfigError(
                "--processes: SQLite takes one serving process; use Postgres for more"
            )
        return 1
    return asked if asked is not None else usable_cores()


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, within its cgroup's CPU quota (a
    container limited to 2 CPUs on a 64-core host gets 2, not 64)."""
    cores = len(os.sched_getaffinity(0))
    try:
        quota, period = Path(CGROUP_CPU_MAX).read_text(encoding="ascii").split()[:2]
    except (OSError, ValueError):
        return cores
    if quota == "max":
        return cores
    return max(1, min(cores, math.ceil(int(quota) / int(period))))


def raise_open_files_limit() -> None:
    """Let this process (and those it forks) hold OPEN_FILES files, within the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    if wanted < OPEN_FILES:
        log.warning(
            "open files limited to %s by the hard limit (ulimit -Hn), not %s", wanted, OPEN_FILES
        )


def serve_http(bot: Bot, *, host: str, port: int) -> None:
    """Serve Slack's requests on `POST /slack/events` until interrupted."""
    log.info("serving HTTP on %s:%s", host, port)
    raise_open_files_limit()
    if bot.deps.settings.BOT_PIN_TO_CORE:
        cores.pin(cores.choose(cores.allowed(), [], salt=cores.host_salt()))
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C
    # Requests queue for the few threads by design; waitress would warn once per request.
    # How long answers take is on /metrics (privatelink_slack_answer_seconds).
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    connections: dict[int, Any] = {}
    server = None
    try:  # as waitress.serve does, with the bot's turn of the loop (bot.serving_loop)
        server = create_server(
            bot.web,
            map=connections,
            host=host,
            port=port,
            threads=bot.deps.settings.BOT_HTTP_THREADS,
            ident=IDENT,
            **LIMITS,
        )
        server.print_listen("Serving on http://{}:{}")
        while connections:
            serving_loop.turn(LOOP_SECONDS, connections)
    except KeyboardInterrupt:  # SIGTERM or Ctrl-C, maybe while the server was still starting
        if server is not None:
            server.task_dispatcher.shutdown()
    log.info("stopped serving HTTP")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve_socket_mode(bot: Bot, *, app_token: str) -> None:
    """Talk to Slack over Socket Mode until interrupted."""
    log.info("connecting to Slack in Socket Mode")
    SocketModeHandler(bot.web.slack.app, app_token).start()  # type: ignore[no-untyped-call]


@contextmanager
def http_in_background(bot: Bot, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve in a thread (tests, the demo); yields the base URL and stops on exit."""
    with wsgi_in_background(
        bot.web, host=host, port=port, threads=bot.deps.settings.BOT_HTTP_THREADS
    ) as url:
        yield url


@contextmanager
def wsgi_in_background(
    app: WSGIApplication, *, host: str = "127.0.0.1", port: int = 0, threads: int = 2
) -> Iterator[str]:
    """Serve `app` under waitress in a thread, turning its loop as `serve_http` does (waitress's
    own loop woke over and over while a request ran: 2 ms of CPU a `list` on its thread);
    yields the base URL and stops on exit."""
    connections: dict[int, Any] = {}
    server = create_server(app, map=connections, host=host, port=port, threads=threads, **LIMITS)
    assert isinstance(server, BaseWSGIServer) and server.socket is not None
    _, bound_port = server.socket.getsockname()[:2]

    def run() -> None:
        while connections:  # until _close_all has closed every connection and the listener
            serving_loop.turn(LOOP_SECONDS, connections)

    thread = threading.Thread(target=run, name="http", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        # requests in flight finish first: their threads wake the loop through its pipe
        server.task_dispatcher.shutdown(timeout=5)
        try:  # close inside the server's loop (types-waitress calls `trigger` an int)
            server.trigger.pull_trigger(lambda: _close_all(server))  # type: ignore[attr-defined]
        except OSError:  # the loop's wake-up pipe is gone already: close from here
            _close_all(server)
        thread.join(timeout=5)


def _close_all(server: BaseWSGIServer) -> None:
    """Close the listening socket and every connection, from inside the server's loop."""
    for channel in list(server._map.values()):  # type: ignore[attr-defined]
        channel.close()


@contextmanager
def status_in_background(app: StatusApp, *, host: str, port: int) -> Iterator[None]:
    """`GET /healthz` and `GET /metrics` served in the background while the block runs; a port
    that cannot be bound is logged, and the process works on without them."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(wsgi_in_background(app, host=host, port=port))
        except OSError as error:
            log.error("cannot serve /healthz and /metrics on port %s: %s", port, error)
        else:
            log.info("health and metrics on %s", url)
        yield
