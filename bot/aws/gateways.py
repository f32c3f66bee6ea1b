"""The bot's gateways, one per region, from boto3's environment (`AWS_ENDPOINT_URL`, keys).

The worker's passes and the Slack side's reads (`/private-endpoint doctor`) take a `Gateways`:
a region's gateway, made when first asked for and then reused. Gateways of one factory share
one boto3 session, so the EC2 service model is loaded once, not once per region.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, Literal

import boto3

from bot.aws.privatelink import RETRY_CONFIG, PrivateLinkGateway
from bot.observability import watch_aws_client

Gateways = Callable[[str], PrivateLinkGateway]
"""A region's gateway, by region code."""


def gateway_for_region(
    region: str,
    *,
    endpoint_url: str | None = None,
    session: boto3.session.Session | None = None,
    lock: threading.RLock | None = None,
) -> PrivateLinkGateway:
    """A gateway over a new EC2 client from boto3's environment (`AWS_ENDPOINT_URL`, keys).
    Clients of one `session` share its loaded service model (about 20 MiB per session); a
    session shared across threads comes with the `lock` under which it makes clients."""
    session = session or boto3.session.Session()
    lock = lock or threading.RLock()

    def client(service: Literal["ec2", "elbv2"]) -> Any:
        with lock:  # a boto3 session must not make clients on two threads at once
            made = session.client(
                service, region_name=region, endpoint_url=endpoint_url, config=RETRY_CONFIG
            )
        watch_aws_client(made)
        return made

    # the ELBv2 client: one for the gateway and all its passes, made when first needed
    return PrivateLinkGateway(client("ec2"), balancers=functools.cache(lambda: client("elbv2")))


def gateway_factory(*, endpoint_url: str | None = None) -> Gateways:
    """Gateways by region from boto3's environment, each made once and then reused; they share
    one boto3 session, so the EC2 service model is loaded once, not once per region."""
    made: dict[str, PrivateLinkGateway] = {}
    lock = threading.RLock()  # a boto3 session must not make clients on two threads at once
    session = boto3.session.Session()

    def gateway(region: str) -> PrivateLinkGateway:
        with lock:
            if region not in made:
                made[region] = gateway_for_region(
                    region, endpoint_url=endpoint_url, session=session, lock=lock
                )
            return made[region]

    return gateway
