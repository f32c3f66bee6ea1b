"""``python -m sandbox.slack``: serve the Slack Web API stand-in in the foreground."""

from __future__ import annotations

import argparse
import logging

from sandbox.slack.server import serve
from sandbox.slack.workspace import (
    DEFAULT_TOKEN,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    TRIGGER_TTL_SECONDS,
)


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.slack", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bot token it accepts")
    parser.add_argument(
        "--trigger-ttl",
        type=float,
        default=TRIGGER_TTL_SECONDS,
        help="seconds a trigger id stays valid; 0 for never expiring",
    )
    parser.add_argument("--client-id", default=SANDBOX_CLIENT_ID, help="the OAuth app's client id")
    parser.add_argument(
        "--client-secret", default=SANDBOX_CLIENT_SECRET, help="the OAuth app's client secret"
    )
    parser.add_argument(
        "--redirect-uri", default=None, help="the app's configured OAuth redirect URL, if any"
    )
    parser.add_argument(
        "--rate-limit", action="store_true", help="about 1 chat.postMessage per second per channel"
    )
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        serve(
            options.host,
            options.port,
            options.token,
            trigger_ttl=options.trigger_ttl or None,
            rate_limit=options.rate_limit,
            client_id=options.client_id,
            client_secret=options.client_secret,
            redirect_uri=options.redirect_uri,
        )
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
