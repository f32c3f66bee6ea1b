"""AWS errors in words a person can act on, as `bot.domain.errors.AwsError`.

`aws_error` maps whatever a boto3 call raises (`AWS_FAILURES`); `explain` maps an error code and
AWS's message, wherever they came from (boto3, or the `aws` CLI's output). `error_kind` sorts a
code into one of a few `KINDS` (throttling, server, network, timeout, client) for metrics.
Throttling, server-side (5xx, or an answer that cannot be read), connection failures and
timeouts are `retryable`; the rest are not. `RegionUnreachable` is what a gateway of one pass
raises, instead of calling, once AWS in its region could not be reached (see
`bot.aws.privatelink`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError

from bot.domain.errors import AwsError

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "BandwidthLimitExceeded",
        "SlowDown",
        "EC2ThrottledException",
        "PriorRequestNotComplete",
    }
)
SERVER_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "Unavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
ACCESS_CODES = frozenset(
    {
        "UnauthorizedOperation",
        "AccessDenied",
        "AccessDeniedException",
        "AuthFailure",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "RequestExpired",
        "OptInRequired",
        "Blocked",
    }
)
TIMEOUT_CODES = frozenset({"ConnectTimeoutError", "ReadTimeoutError"})
NETWORK_CODES = frozenset(
    {
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ProxyConnectionError",
        "SSLError",
        "ResponseStreamingError",
        "ConnectionError",
        "HTTPClientError",
    }
)
"""botocore's connection failures (its `ConnectionError` and `HTTPClientError` families)."""
UNREADABLE_CODE = "ResponseParserError"
"""An answer botocore could not parse (e.g. a proxy's plain-text 503)."""
AWS_FAILURES = (ClientError, BotoCoreError, ResponseParserError)
"""Everything a boto3 call raises when AWS or the way to it fails: `ClientError` (AWS answered
with an error), `BotoCoreError` (the network, timeouts, credentials) and `ResponseParserError`
(an answer that cannot be read; botocore does not make it a `BotoCoreError`)."""
AwsFailure = ClientError | BotoCoreError | ResponseParserError

THROTTLING = "throttling"
SERVER = "server"
NETWORK = "network"
TIMEOUT = "timeout"
CLIENT = "client"
KINDS = (THROTTLING, SERVER, NETWORK, TIMEOUT, CLIENT)
UNREACHABLE_KINDS = frozenset({NETWORK, TIMEOUT})
"""Kinds that mean AWS in the region could not be reached (or did not answer in time)."""

_SUBNET = re.compile(r"subnet-[0-9a-f]+")
_VPC = re.compile(r"vpc-[0-9a-f]+")
_SERVICE = re.compile(r"com\.amazonaws\.vpce\.[a-z0-9-]+\.vpce-svc-[0-9a-f]+|vpce-svc-[0-9a-f]+")
_DNS_NAME = re.compile(r"for (\S+) in the VPC")


def error_kind(*, code: str, status: int | None = None) -> str:
    """The kind of an error code (one of `KINDS`): `throttling`, `server` (AWS failed, or its
    answer could not be read), `network`, `timeout`, or `client` (the request was refused)."""
    if code in TIMEOUT_CODES:
        return TIMEOUT
    if code in NETWORK_CODES:
        return NETWORK
    if code in THROTTLING_CODES:
        return THROTTLING
    if code in SERVER_CODES or code == UNREADABLE_CODE or (status or 0) >= 500:
        return SERVER
    return CLIENT


def is_retryable(*, code: str, status: int | None = None) -> bool:
    """Whether trying the same call again later may succeed (throttling, AWS-side failures,
    no connection)."""
    return error_kind(code=code, status=status) != CLIENT


class RegionUnreachable(Exception):
    """AWS in `region` could not be reached earlier in this pass, so the call was not made.

    Not an `AwsError`: the steps of a pass, which handle AWS errors one by one, let it through,
    and the pass stops working that region until its next pass (`bot.reconcile.passes`)."""

    def __init__(self, *, region: str, cause: AwsError) -> None:
        super().__init__(f"AWS in {region} could not be reached earlier in this pass: {cause}")
        self.region = region
        self.cause = cause


@dataclass(frozen=True)
class _Rule:
    matches: Callable[[str, str], bool]
    explain: Callable[[str, str, Sequence[str]], str]


def _first(pattern: re.Pattern[str], text: str, default: str) -> str:
    match = pattern.search(text)
    return match.group(0) if match else default


def _az_not_supported(code: str, message: str, az_ids: Sequence[str]) -> str:
    subnet = _first(_SUBNET, message, "one of the subnets")
    where = (
        f"in one of these Availability Zone IDs: {', '.join(az_ids)}"
        if az_ids
        else "in the Availability Zone IDs shown for the endpoint service"
    )
    return (
        f"Subnet {subnet} is in an Availability Zone that the endpoint service does not "
        f"support. Use subnets {where}. Zone names such as us-west-2a point to different "
        "zones in each AWS account, so compare zone IDs: aws ec2 describe-subnets "
        "--subnet-ids <subnet> --query 'Subnets[].AvailabilityZoneId'."
    )


def _dns_conflict(code: str, message: str, az_ids: Sequence[str]) -> str:
    vpc = _first(_VPC, message, "your VPC")
    match = _DNS_NAME.search(message)
    name = match.group(1) if match else "the service's private DNS name"
    return (
        f"{vpc} already has a private DNS zone for {name}, for example from another VPC "
        "endpoint to this service or a Route 53 private hosted zone. Turn off private DNS "
        "on the other endpoint or remove that zone, then run the command again."
    )


def _dns_attributes(code: str, message: str, az_ids: Sequence[str]) -> str:
    vpc = _first(_VPC, message, "<vpc-id>")
    return (
        f"Private DNS needs DNS resolution and DNS hostnames turned on for {vpc}. Run "
        f"aws ec2 modify-vpc-attribute --vpc-id {vpc} --enable-dns-support and "
        f"aws ec2 modify-vpc-attribute --vpc-id {vpc} --enable-dns-hostnames, then try again."
    )


def _dns_not_verified(code: str, message: str, az_ids: Sequence[str]) -> str:
    return (
        "The endpoint service's private DNS name has not been verified yet, so private DNS "
        "cannot be turned on. Wait until the bot reports the name as verified, then run the "
        "command again."
    )


def _no_private_dns(code: str, message: str, az_ids: Sequence[str]) -> str:
    return "This endpoint service has no private DNS name, so private DNS cannot be turned on."


def _service_not_visible(code: str, message: str, az_ids: Sequence[str]) -> str:
    service = _first(_SERVICE, message, "the endpoint service")
    return (
        f"AWS cannot find {service} for this AWS account. Check that the command runs in "
        "the AWS account you gave the bot (only that account is allowed to connect), in the "
        "service's region, and that the service name is copied exactly."
    )


def _not_found(code: str, message: str, az_ids: Sequence[str]) -> str:
    thing = {
        "InvalidVpcEndpointServiceId.NotFound": "The endpoint service",
        "InvalidVpcEndpointService.NotFound": "The endpoint service",
        "InvalidVpcEndpointId.NotFound": "The VPC endpoint",
        "InvalidVpcID.NotFound": "The VPC",
        "InvalidSubnetID.NotFound": "The subnet",
        "InvalidSubnetId.NotFound": "The subnet",
        "LoadBalancerNotFound": "The load balancer",
    }.get(code, "Something the request names")
    return (
        f"{thing} was not found ({message.rstrip('.')}). Check the ID and that it is in this "
        "AWS account and region."
    )


def _access_denied(code: str, message: str, az_ids: Sequence[str]) -> str:
    return (
        "AWS refused the request: the credentials in use are not allowed to do this "
        f"({code}). Check the IAM permissions of the account or role running it."
    )


def _active_connections(code: str, message: str, az_ids: Sequence[str]) -> str:
    return (
        "The endpoint service still has connected endpoints; they must be rejected before "
        "the service can be deleted."
    )


def _idempotency(code: str, message: str, az_ids: Sequence[str]) -> str:
    return (
        "An endpoint service was already created for this cluster with a different load "
        "balancer. Check the cluster's NLB ARN."
    )


def _busy(code: str, message: str, az_ids: Sequence[str]) -> str:
    return f"AWS is busy or briefly unavailable ({code}); the bot will try again shortly."


def _says(*texts: str) -> Callable[[str, str], bool]:
    return lambda code, message: any(text.lower() in message.lower() for text in texts)


_RULES = (
    _Rule(_says("does not support the availability zone"), _az_not_supported),
    _Rule(_says("conflicting DNS domain"), _dns_conflict),
    _Rule(_says("enableDnsHostnames", "enableDnsSupport"), _dns_attributes),
    _Rule(_says("is not verified", "not been verified"), _dns_not_verified),
    _Rule(_says("does not provide a private DNS name"), _no_private_dns),
    _Rule(lambda c, m: c == "InvalidServiceName", _service_not_visible),
    _Rule(lambda c, m: c.endswith("NotFound"), _not_found),
    _Rule(lambda c, m: c in ACCESS_CODES, _access_denied),
    _Rule(lambda c, m: c == "ExistingVpcEndpointConnections", _active_connections),
    _Rule(lambda c, m: c == "IdempotentParameterMismatch", _idempotency),
    _Rule(lambda c, m: is_retryable(code=c), _busy),
)


def explain(
    *, code: str, message: str, supported_az_ids: Sequence[str] = (), status: int | None = None
) -> str:
    """What an AWS error means and what to do, from its code and AWS's message text."""
    for rule in _RULES:
        if rule.matches(code, message):
            return rule.explain(code, message, supported_az_ids)
    if is_retryable(code=code, status=status):
        return _busy(code, message, supported_az_ids)
    return f"AWS refused the request ({code}): {message}"


def explained(
    *, code: str, message: str, status: int | None = None, supported_az_ids: Sequence[str] = ()
) -> AwsError:
    """An `AwsError` for an AWS error code and message, with the plain explanation."""
    return AwsError(
        explain(code=code, message=message, supported_az_ids=supported_az_ids, status=status),
        code=code,
        retryable=is_retryable(code=code, status=status),
    )


def aws_error(
    error: AwsFailure, *, supported_az_ids: Sequence[str] = (), region: str | None = None
) -> AwsError:
    """The `AwsError` for what a boto3 call raised (one of `AWS_FAILURES`); `region` names
    where AWS could not be reached, in the message."""
    where = f"AWS (EC2 in {region})" if region else "AWS"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return explained(
            code=details.get("Code") or str(status or "Unknown"),
            message=details.get("Message", str(error)),
            status=status,
            supported_az_ids=supported_az_ids,
        )
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return AwsError(
            "The bot has no usable AWS credentials. Set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (or a role) for the bot.",
            code=type(error).__name__,
        )
    if isinstance(error, ConnectTimeoutError | ReadTimeoutError):
        return AwsError(
            f"{where} did not answer in time; the bot will try again shortly.",
            code=type(error).__name__,
            retryable=True,
        )
    if isinstance(error, BotoConnectionError | HTTPClientError):
        code = type(error).__name__
        if code not in NETWORK_CODES:
            code = (
                "ConnectionError" if isinstance(error, BotoConnectionError) else "HTTPClientError"
            )
        return AwsError(
            f"The bot could not reach {where}; it will try again shortly.",
            code=code,
            retryable=True,
        )
    if isinstance(error, ResponseParserError):
        return AwsError(
            f"{where} sent an answer the bot could not read; it will try again shortly.",
            code=UNREADABLE_CODE,
            retryable=True,
        )
    return AwsError(f"The AWS request failed: {error}", code=type(error).__name__)


def failure_kind(error: AwsFailure) -> str:
    """The kind (one of `KINDS`) of what a boto3 call raised."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error_kind(code=aws_error(error).code, status=status)
    return error_kind(code=aws_error(error).code)
