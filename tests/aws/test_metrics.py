"""AWS calls and Slack failures are counted for `GET /metrics`."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from slack_sdk.errors import SlackApiError

from bot.aws.gateways import gateway_for_region
from bot.observability import AWS_CALLS, SLACK_ERRORS, render, watch_aws_client
from bot.slack.client import MeteredWebClient
from sandbox.aws import provider_credentials
from sandbox.slack_api import DEFAULT_TOKEN, SlackStandIn, start


def value(counter: object, **labels: str) -> float:
    return counter.labels(**labels)._value.get()  # type: ignore[attr-defined, no-any-return]


def test_every_aws_call_is_counted_by_operation_and_outcome(
    aws_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, secret in provider_credentials().env().items():
        monkeypatch.setenv(name, secret)
    gateway = gateway_for_region("us-west-2", endpoint_url=aws_url)
    before_ok = value(AWS_CALLS, operation="DescribeVpcEndpointConnections", outcome="ok")
    gateway.list_connections()
    assert value(AWS_CALLS, operation="DescribeVpcEndpointConnections", outcome="ok") == (
        before_ok + 1
    )
    assert "privatelink_aws_calls_total{" in render()


def test_failed_aws_calls_are_counted_with_their_error_code(aws_url: str) -> None:
    client = boto3.client(
        "ec2", region_name="us-west-2", endpoint_url=aws_url, **_keys(provider_credentials().env())
    )
    watch_aws_client(client)
    operation, code = (
        "DescribeVpcEndpointServiceConfigurations",
        ("InvalidVpcEndpointServiceId.NotFound"),
    )
    before = value(AWS_CALLS, operation=operation, outcome=code)
    with pytest.raises(ClientError):
        client.describe_vpc_endpoint_service_configurations(
            ServiceIds=["vpce-svc-00000000000000000"]
        )
    assert value(AWS_CALLS, operation=operation, outcome=code) == before + 1


def _keys(env: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
    }


def test_slack_failures_are_counted_by_method_and_error() -> None:
    _, running = start(SlackStandIn())
    try:
        client = MeteredWebClient(token=DEFAULT_TOKEN, base_url=running.api_url)
        before = value(SLACK_ERRORS, method="views.update", error="not_found")
        with pytest.raises(SlackApiError):
            client.views_update(
                view_id="V0NOTOPEN",
                view={"type": "modal", "title": {"type": "plain_text", "text": "x"}, "blocks": []},
            )
        assert value(SLACK_ERRORS, method="views.update", error="not_found") == before + 1
    finally:
        running.stop()


def test_a_rate_limited_or_failed_view_update_is_retried_by_slack_sdk() -> None:
    _, running = start(SlackStandIn())
    standin = running.standin
    try:
        client = MeteredWebClient(token=DEFAULT_TOKEN, base_url=running.api_url)
        home = {
            "type": "home",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}],
        }
        standin.rate_limit_next("views.publish", retry_after=1)
        standin.fail_next("views.publish", error="internal_error", status=500)
        assert client.views_publish(user_id="U0OWNER01", view=home)["ok"]
        assert len(standin.calls("views.publish")) == 3  # a 429, a 500, then published
    finally:
        running.stop()
