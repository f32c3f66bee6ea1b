"""The local AWS over HTTP: moto's server with the extension, for boto3 and the `aws` CLI.

Point clients at it with `AWS_ENDPOINT_URL=<url>` (or `endpoint_url=`), any region, and
fake keys (see `accounts.py` for choosing the account).
"""

from __future__ import annotations

import signal
import sys
import threading
from dataclasses import dataclass, field
from types import FrameType, TracebackType
from typing import Any

from moto.core.base_backend import BackendDict
from moto.core.model_instances import reset_model_data
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox.aws.extension import install
from sandbox.aws.settings import LOCK, configure, reset_settings


class _QuietRequestHandler(MotoRequestHandler):
    """moto's request handler without a log line per request."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Log nothing for a request that was answered."""


@dataclass
class LocalAwsServer:
    """A running local AWS: its base URL and how to stop it (also a context manager)."""

    url: str
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def stop(self) -> None:
        """Stop serving and wait for the server thread; safe to call twice."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
            self._server.server_close()

    def __enter__(self) -> LocalAwsServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_in_background(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    service_delay: float = 0.0,
    dns_verified: bool = False,
    log_requests: bool = False,
) -> LocalAwsServer:
    """Serve the local AWS from a daemon thread; port 0 picks a free port."""
    install()
    configure(service_delay=service_delay, dns_verified=dns_verified)
    server = make_server(
        host,
        port,
        DomainDispatcherApplication(create_backend_app),
        threaded=True,
        request_handler=MotoRequestHandler if log_requests else _QuietRequestHandler,
    )
    thread = threading.Thread(target=server.serve_forever, name="local-aws", daemon=True)
    thread.start()
    shown = f"[{host}]" if ":" in host else host
    return LocalAwsServer(url=f"http://{shown}:{server.port}", _server=server, _thread=thread)


def serve(*, host: str, port: int, service_delay: float, dns_verified: bool = False) -> None:
    """Serve the local AWS until SIGINT or SIGTERM."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with start_in_background(
            host=host,
            port=port,
            service_delay=service_delay,
            dns_verified=dns_verified,
            log_requests=True,
        ) as server:
            print(f"Local AWS listening on {server.url}", file=sys.stderr, flush=True)
            print(f"  export AWS_ENDPOINT_URL={server.url}", file=sys.stderr, flush=True)
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def reset_backends() -> None:
    """Forget every AWS resource in every account (as moto's `/moto-api/reset` does)."""
    with LOCK:
        BackendDict.reset()
        reset_model_data()


def reset() -> None:
    """Forget every AWS resource and restore the sandbox's default settings."""
    reset_backends()
    reset_settings()
