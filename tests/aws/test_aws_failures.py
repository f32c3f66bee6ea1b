"""Every failure a boto3 call can raise leaves the gateway as an `AwsError` (retryable when a
later try may succeed) and is counted in /metrics by operation and kind; a pass's gateway stops
calling a region that proved unreachable. AWS is the local AWS, or a loopback address that
refuses, closes or never answers."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest
from botocore.config import Config

from bot.aws.errors import RegionUnreachable
from bot.aws.gateways import gateway_for_region
from bot.aws.privatelink import RETRY_CONFIG, PrivateLinkGateway
from bot.domain.errors import AwsError
from bot.observability import watch_aws_client
from sandbox.aws import inject_fault, provider_credentials
from tests.aws_fixtures import NO_RETRIES, REGION, metric, unused_loopback_url

READ = "DescribeVpcEndpointConnections"
ERRORS = "privatelink_aws_errors_total"
CALLS = "privatelink_aws_calls_total"
# gives up quickly, yet the local AWS answers well inside it even on a busy machine
QUICK = Config(connect_timeout=0.5, read_timeout=2.0)


def watched(url: str) -> PrivateLinkGateway:
    """The gateway over a provider client of `url` that gives up fast, counted for /metrics."""
    client = provider_credentials().ec2(
        region=REGION, endpoint_url=url, config=NO_RETRIES.merge(QUICK)
    )
    watch_aws_client(client)
    return PrivateLinkGateway(client)


def failure(gateway: PrivateLinkGateway, *, kind: str) -> AwsError:
    """What listing the connections raised; checks that it was counted once, as `kind`."""
    errors = metric(ERRORS, operation=READ, kind=kind)
    with pytest.raises(AwsError) as raised:
        gateway.list_connections()
    assert metric(ERRORS, operation=READ, kind=kind) == errors + 1
    return raised.value


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A loopback port that takes connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


class _HangUp(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.recv(65536)  # read the request, then close without an answer


@pytest.fixture
def hang_up_url() -> Iterator[str]:
    """A loopback server that reads each request and closes the connection unanswered."""
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _HangUp) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_address[1]}"
        server.shutdown()
        thread.join(timeout=5)


def test_an_unreachable_region_is_a_retryable_error_counted_as_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, secret in provider_credentials().env().items():
        monkeypatch.setenv(name, secret)
    gateway = gateway_for_region(REGION, endpoint_url=unused_loopback_url())  # as the worker's
    calls = metric(CALLS, operation=READ, outcome="EndpointConnectionError")

    error = failure(gateway, kind="network")

    assert (error.code, error.retryable) == ("EndpointConnectionError", True)
    assert str(error) == (
        "The bot could not reach AWS (EC2 in us-west-2); it will try again shortly."
    )
    assert metric(CALLS, operation=READ, outcome="EndpointConnectionError") == calls + 1


def test_an_answer_that_never_comes_is_a_timeout(silent_url: str) -> None:
    error = failure(watched(silent_url), kind="timeout")

    assert (error.code, error.retryable) == ("ReadTimeoutError", True)
    assert "did not answer in time" in str(error)


def test_a_connection_closed_without_an_answer_is_a_network_error(hang_up_url: str) -> None:
    error = failure(watched(hang_up_url), kind="network")

    assert (error.code, error.retryable) == ("ConnectionClosedError", True)


@pytest.mark.parametrize(
    ("status", "code", "body", "expected", "kind", "retryable"),
    [
        (503, "", "Service Unavailable", "ResponseParserError", "server", True),
        (502, "", "<html><body>Bad Gateway</body></html>", "502", "server", True),
        (500, "InternalError", None, "InternalError", "server", True),
        (503, "RequestLimitExceeded", None, "RequestLimitExceeded", "throttling", True),
        (403, "UnauthorizedOperation", None, "UnauthorizedOperation", "client", False),
    ],
)
def test_every_answered_failure_is_an_aws_error_of_its_kind(
    aws_url: str,
    status: int,
    code: str,
    body: str | None,
    expected: str,
    kind: str,
    retryable: bool,
) -> None:
    inject_fault(action=READ, code=code, status=status, body=body)

    error = failure(watched(aws_url), kind=kind)

    assert (error.code, error.retryable) == (expected, retryable)
    assert "<" not in str(error) and "Unable to parse" not in str(error)


def test_a_fault_of_one_region_leaves_the_others_alone(aws_url: str) -> None:
    inject_fault(action=READ, code="InternalError", status=500, region="eu-west-1")

    assert watched(aws_url).list_connections() == []


def test_a_pass_gateway_stops_calling_a_region_that_proved_unreachable() -> None:
    gateway = watched(unused_loopback_url())
    one_pass = gateway.for_pass()
    calls = metric(CALLS, operation=READ)

    with pytest.raises(AwsError):
        one_pass.list_connections()
    with pytest.raises(RegionUnreachable) as skipped:
        one_pass.list_services()
    assert metric(CALLS, operation=READ) == calls + 1  # the second call was never made
    assert skipped.value.region == REGION and skipped.value.cause.retryable
    with pytest.raises(AwsError):  # the worker's own gateway tries again next pass
        gateway.list_connections()
    assert metric(CALLS, operation=READ) == calls + 2


def test_a_pass_gateway_goes_on_after_an_answered_failure(aws_url: str) -> None:
    inject_fault(action=READ, code="Throttling", status=400)
    one_pass = watched(aws_url).for_pass()

    with pytest.raises(AwsError):
        one_pass.list_connections()
    assert one_pass.list_connections() == []


def test_the_worker_client_gives_up_on_a_dead_region_within_seconds() -> None:
    config = vars(RETRY_CONFIG)  # botocore's defaults: 60 s to connect, 60 s to read
    attempts = config["retries"]["total_max_attempts"]

    assert attempts * max(config["connect_timeout"], config["read_timeout"]) <= 30
