"""Assembling and running the bot: HTTP under waitress, or Socket Mode."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

import waitress
from slack_bolt.adapter.socket_mode import SocketModeHandler
from sqlalchemy import Engine
from waitress.server import BaseWSGIServer, create_server

from bot import metrics
from bot.config import Settings
from bot.slack.app import build_app
from bot.slack.deps import Deps
from bot.storage.db import make_engine, make_sessionmaker
from bot.web import WebApp

log = logging.getLogger("bot.server")


@dataclass(frozen=True, slots=True)
class Bot:
    deps: Deps
    engine: Engine
    web: WebApp


def assemble(settings: Settings) -> Bot:
    """The database, the Bolt app and the WSGI app, from settings."""
    engine = make_engine(settings.DATABASE_URL.get_secret_value())
    sessions = make_sessionmaker(engine)
    deps = Deps(sessions=sessions, settings=settings)
    app = build_app(deps)
    web = WebApp(app=app, engine=engine, metrics=lambda: metrics.render(sessions))
    return Bot(deps=deps, engine=engine, web=web)


def serve_http(bot: Bot, *, host: str, port: int) -> None:
    """Serve Slack's requests on `POST /slack/events` until interrupted."""
    log.info("serving HTTP on %s:%s", host, port)
    signal.signal(signal.SIGTERM, _interrupt)  # stop like Ctrl-C
    # Requests queue for the few threads by design; waitress would warn once per request.
    # How long answers take is on /metrics (privatelink_slack_answer_seconds).
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    try:
        waitress.serve(
            bot.web,
            host=host,
            port=port,
            threads=bot.deps.settings.BOT_HTTP_THREADS,
            ident="privatelink-bot",
        )
    except KeyboardInterrupt:  # a stop asked for while the server was still starting
        pass
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
    server = create_server(
        bot.web, host=host, port=port, threads=bot.deps.settings.BOT_HTTP_THREADS
    )
    assert isinstance(server, BaseWSGIServer) and server.socket is not None
    _, bound_port = server.socket.getsockname()[:2]
    thread = threading.Thread(target=server.run, name="http", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        try:  # close inside the server's loop (types-waitress calls `trigger` an int)
            server.trigger.pull_trigger(lambda: _close_all(server))  # type: ignore[attr-defined]
        except OSError:  # the loop's wake-up pipe is gone already: close from here
            _close_all(server)
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()


def _close_all(server: BaseWSGIServer) -> None:
    """Close the listening socket and every connection, from inside the server's loop."""
    for channel in list(server._map.values()):  # type: ignore[attr-defined]
        channel.close()
