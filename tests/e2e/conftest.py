"""Fixtures: the local AWS (see tests/aws_fixtures.py)."""

from tests.aws_fixtures import (  # noqa: F401
    aws_url,
    consumer,
    consumer_ec2,
    consumer_network,
    gateway,
    local_aws_server,
    provider_ec2,
    provider_network,
)
