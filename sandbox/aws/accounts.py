"""Which AWS account a call to the local AWS acts as.

moto takes the account of a request from its access key: a key that moto's IAM knows
belongs to its account (`moto.core.responses.BaseResponse.get_current_account` →
`moto.iam.models.get_account_id_from`); any other key (e.g. `testing`) is the default
account `123456789012`, which plays the service provider here. moto's STS `AssumeRole`
accepts a role ARN in any account (the role need not exist) and registers the temporary key
it returns with that account, so assuming `arn:aws:iam::<account>:role/…` is how a test, the
demo or a developer acts as a consumer account, in-process or over HTTP alike:

    aws sts assume-role --role-arn arn:aws:iam::111122223333:role/consumer \
        --role-session-name me   # then export the three returned values

The keys live in moto's state, so take them again after `reset_backends()`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

PROVIDER_ACCOUNT_ID = "123456789012"
"""moto's default account: the service provider, for any access key moto does not know."""

_FAKE_KEY = "testing"
_session: boto3.Session | None = None
_session_lock = threading.Lock()


def _shared_session() -> boto3.Session:
    """One boto3 session for all sandbox clients: a new session reloads botocore's models."""
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.Session()
        return _session


@dataclass(frozen=True)
class Credentials:
    """Access keys that the local AWS maps to `account_id`."""

    account_id: str
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def env(self) -> dict[str, str]:
        """The `AWS_*` environment variables that make boto3 or the `aws` CLI use these keys."""
        values = {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }
        if self.session_token:
            values["AWS_SESSION_TOKEN"] = self.session_token
        return values

    def ec2(
        self, *, region: str, endpoint_url: str | None = None, config: Config | None = None
    ) -> EC2Client:
        """An EC2 client acting as this account."""
        return _shared_session().client(
            "ec2",
            region_name=region,
            endpoint_url=endpoint_url,
            config=config,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
        )

    def elbv2(
        self, *, region: str, endpoint_url: str | None = None, config: Config | None = None
    ) -> ElasticLoadBalancingv2Client:
        """An ELBv2 client acting as this account."""
        return _shared_session().client(
            "elbv2",
            region_name=region,
            endpoint_url=endpoint_url,
            config=config,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            aws_session_token=self.session_token,
        )


def provider_credentials() -> Credentials:
    """Keys of the provider account (`PROVIDER_ACCOUNT_ID`): any key moto does not know."""
    return Credentials(PROVIDER_ACCOUNT_ID, _FAKE_KEY, _FAKE_KEY)


def credentials_for_account(
    *, account_id: str, endpoint_url: str | None = None, region: str = "us-east-1"
) -> Credentials:
    """Temporary keys that the local AWS maps to `account_id`, from moto's STS `AssumeRole`.

    Without `endpoint_url`, boto3 finds the local AWS as usual (`AWS_ENDPOINT_URL`, or an
    active `moto.mock_aws`).
    """
    sts = _shared_session().client(
        "sts",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=_FAKE_KEY,
        aws_secret_access_key=_FAKE_KEY,
    )
    answer = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/privatelink-sandbox",
        RoleSessionName="privatelink-sandbox",
    )["Credentials"]
    return Credentials(
        account_id, answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"]
    )
