"""The floor: a bare Bolt app whose listeners only ack, under the bot's server stack.

`python -m tests.benchmarks.floor_app --port P [--threads T] [--process-before-response]
[--processes N]`: waitress (the bot's thread count unless told) or, with N > 1, gunicorn's
arbiter forking waitress processes with the settings of `serve --processes N` (`bot.prefork`);
Bolt's WSGI adapter and the same signing secret as `bot.slack.app.build_app`; its Web API
client points at the Slack stand-in (`SLACK_API_URL`) for Bolt's one `auth.test`. With
`--process-before-response` it is Bolt configured as the bot is; without, Bolt's default (the
ack is sent from a thread of its own and the request thread polls for it every 10 ms).
Whatever the bot takes beyond these apps' latency is the bot's own work.
"""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

import waitress
from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.config import DEFAULT_HTTP_THREADS
from bot.prefork import GunicornServer, gunicorn_options
from bot.slack.ids import COMMAND
from bot.web import SLACK_PATH

ANY = re.compile(".*")


def build_floor(
    *, token: str, signing_secret: str, api_url: str, process_before_response: bool = False
) -> App:
    """A Bolt app configured as the bot's, with listeners that ack and do nothing else."""
    client = WebClient(token=token, base_url=api_url)
    app = App(
        client=client,
        signing_secret=signing_secret,
        process_before_response=process_before_response,
    )

    def only_ack(ack: Ack) -> None:
        ack()

    def nothing(event: dict[str, Any]) -> None:
        return None

    app.command(COMMAND)(only_ack)
    app.action(ANY)(only_ack)
    app.view_submission(ANY)(only_ack)
    app.view_closed(ANY)(only_ack)
    app.event("app_home_opened")(nothing)
    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the floor app until interrupted; settings from the bot's environment variables."""
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.floor_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--process-before-response",
        action="store_true",
        help="run listeners in the request thread (no ack polling), as the bot does",
    )
    parser.add_argument("--threads", type=int, default=DEFAULT_HTTP_THREADS)
    parser.add_argument("--processes", type=int, default=1, help="more than 1: under gunicorn")
    options = parser.parse_args(argv)
    app = build_floor(
        token=os.environ["SLACK_BOT_TOKEN"],
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        api_url=os.environ["SLACK_API_URL"],
        process_before_response=options.process_before_response,
    )
    handler = SlackRequestHandler(app, path=SLACK_PATH)
    if options.processes > 1:  # the bot's gunicorn settings, limits included
        settings = gunicorn_options(
            host=options.host,
            port=options.port,
            processes=options.processes,
            threads=options.threads,
        )
        GunicornServer(handler, settings).run()
        return
    try:
        waitress.serve(
            handler,
            host=options.host,
            port=options.port,
            threads=options.threads,
            ident="floor",
        )
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
