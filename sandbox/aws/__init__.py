"""The local AWS: moto plus an extension for the provider side of AWS PrivateLink.

Importing this package installs the extension into moto (see `extension.py`). Then either:

- in-process: `with moto.mock_aws(): ...` and boto3 clients without an endpoint URL; or
- over HTTP: `start_in_background()` (tests, the demo) or `serve(...)` (`python -m sandbox
  aws`), and clients or the `aws` CLI with `AWS_ENDPOINT_URL` set to the server's URL.

The provider is account `PROVIDER_ACCOUNT_ID`; act as another account with
`credentials_for_account` (see `accounts.py`). `reset()` forgets all AWS state.
"""

from sandbox.aws.accounts import (
    PROVIDER_ACCOUNT_ID,
    Credentials,
    credentials_for_account,
    provider_credentials,
)
from sandbox.aws.extension import install, installed
from sandbox.aws.seed import (
    ConsumerNetwork,
    ProviderNetwork,
    seed_connections,
    seed_consumer_network,
    seed_provider_network,
    zone_ids,
)
from sandbox.aws.server import LocalAwsServer, reset, reset_backends, serve, start_in_background
from sandbox.aws.settings import (
    call_count,
    configure,
    fail_dns_verification,
    inject_fault,
    reset_settings,
)

install()

__all__ = [
    "PROVIDER_ACCOUNT_ID",
    "ConsumerNetwork",
    "Credentials",
    "LocalAwsServer",
    "ProviderNetwork",
    "call_count",
    "configure",
    "credentials_for_account",
    "fail_dns_verification",
    "inject_fault",
    "install",
    "installed",
    "provider_credentials",
    "reset",
    "reset_backends",
    "reset_settings",
    "seed_connections",
    "seed_consumer_network",
    "seed_provider_network",
    "serve",
    "start_in_background",
    "zone_ids",
]
