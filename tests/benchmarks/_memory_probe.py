"""`python -m tests.benchmarks._memory_probe MODE REGION…`: the RSS that EC2 gateways cost.

In a fresh process: import what `serve` imports, then make one EC2 gateway per region and
print one JSON line of VmRSS (KiB) after the imports and after each region. MODE `worker` makes
them as the worker does (`reconciler.gateway_factory`: a new boto3 session per region); MODE
`shared` makes every client from one boto3 session, as a comparison. No AWS call is made.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

UNREACHABLE = "http://127.0.0.1:9"


def rss_kib() -> int:
    """This process's VmRSS, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main(argv: list[str]) -> None:
    """Measure and print; see the module's docstring."""
    mode, regions = argv[0], argv[1:]
    import boto3

    import bot.server  # noqa: F401 (what serve imports)
    import bot.worker.runner  # noqa: F401
    from bot.aws.privatelink import RETRY_CONFIG
    from bot.worker.reconciler import gateway_factory

    figures = {"imports": rss_kib()}
    if mode == "worker":
        gateways = gateway_factory(endpoint_url=UNREACHABLE)
        for region in regions:
            gateways(region)
            figures[region] = rss_kib()
    elif mode == "shared":
        session = boto3.session.Session()
        clients = []
        for region in regions:
            clients.append(
                session.client(
                    "ec2", region_name=region, endpoint_url=UNREACHABLE, config=RETRY_CONFIG
                )
            )
            figures[region] = rss_kib()
    else:
        raise SystemExit(f"unknown mode {mode!r}: worker or shared")
    print(json.dumps(figures))


if __name__ == "__main__":
    main(sys.argv[1:])
