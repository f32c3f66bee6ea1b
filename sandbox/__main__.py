"""`python -m sandbox <command>`: the offline demo and the local AWS, for development and tests.

Beside the bot, never inside it: the wheel and the image carry only `bot` and its migrations.
The Slack Web API stand-in starts alone with `python -m sandbox.slack`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def cmd_demo(args: argparse.Namespace) -> int:
    """The whole flow offline: SQLite, the local AWS and Slack stand-in, the real bot."""
    from sandbox.demo import main as demo

    return demo()


def cmd_aws(args: argparse.Namespace) -> int:
    """Serve the local AWS (moto plus the PrivateLink extension) until interrupted."""
    from sandbox.aws import serve

    serve(
        host=args.host,
        port=args.port,
        service_delay=args.service_delay,
        dns_verified=args.dns_verified,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the sandbox's commands."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "demo", help="walk /private-endpoint create to an Active endpoint, offline"
    ).set_defaults(handler=cmd_demo)
    aws = commands.add_parser("aws", help="the local AWS: moto plus PrivateLink behaviours, HTTP")
    aws.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    aws.add_argument("--port", type=int, default=5055, help="default 5055")
    aws.add_argument(
        "--service-delay",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how long a new endpoint service stays Pending (default 5)",
    )
    aws.add_argument(
        "--dns-verified",
        action="store_true",
        help="treat every private DNS name as already verified",
    )
    aws.set_defaults(handler=cmd_aws)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sandbox command."""
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
