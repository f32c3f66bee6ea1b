"""The one place where the local AWS changes moto (5.2.x); `install()` applies it, idempotently.

What is patched, and why:

- `EC2Response` (moto's EC2 request handler, used by `mock_aws` and by moto's server):
  new actions `DescribeVpcEndpointConnections`, `AcceptVpcEndpointConnections`,
  `RejectVpcEndpointConnections`, `StartVpcEndpointServicePrivateDnsVerification`; changed
  `CreateVpcEndpointServiceConfiguration` (ClientToken), `DescribeVpcEndpointServiceConfigurations`
  (filters, pagination), `ModifyVpcEndpointServiceConfiguration` (DNS re-verification),
  `DeleteVpcEndpointServiceConfigurations` (active connections block it), `CreateVpcEndpoint`
  (allowed principals, AZ coverage, security groups, acceptance, private DNS checks; the VPC's
  default group when given none), `ModifyVpcEndpoint`
  (`PrivateDnsEnabled`); and `call_action`, which counts calls and plays injected faults.
  See `responses.py`.
- `VPCServiceConfiguration`: AWS's 17-hex-digit ids, `AvailabilityZoneIds`, a `ServiceState`
  that stays `Pending` for the configured delay, and a real `PrivateDnsNameConfiguration`.
- `VPCEndPoint.state`: `pending` after acceptance until the configured delay has passed.
- `ELBv2Backend.create_load_balancer`: network load balancers get `loadbalancer/net/` ARNs
  (moto gives every load balancer an `app/` ARN).
- `ELBV2Response.call_action`: ELBv2 calls are counted and play injected faults, as EC2's do
  (e.g. `DescribeTargetHealth`).

Everything else is moto as it is. The behaviour itself lives in `model.py`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from moto.ec2.models.vpc_service_configuration import VPCServiceConfiguration
from moto.ec2.models.vpcs import VPCEndPoint
from moto.ec2.responses import EC2Response
from moto.elbv2.models import ELBv2Backend
from moto.elbv2.responses import ELBV2Response

from sandbox.aws import model
from sandbox.aws.responses import CHANGED_ACTIONS, NEW_ACTIONS, Handler

_MARK = "_privatelink_sandbox_installed"


def install() -> None:
    """Apply the extension to moto's classes; calling it again does nothing."""
    if getattr(EC2Response, _MARK, False):
        return
    for name, action in NEW_ACTIONS.items():
        setattr(EC2Response, name, action)
    for name, change in CHANGED_ACTIONS.items():
        setattr(EC2Response, name, _wrap(getattr(EC2Response, name), change))
    _patch_service_configuration()
    _patch_endpoint()
    _patch_load_balancers()
    # ELBv2's calls are counted and play injected faults as EC2's do (the same query protocol)
    balancers: Any = ELBV2Response
    balancers.call_action = _wrap(ELBV2Response.call_action, CHANGED_ACTIONS["call_action"])
    setattr(EC2Response, _MARK, True)


def installed() -> bool:
    """Whether `install()` has run in this process."""
    return bool(getattr(EC2Response, _MARK, False))


def _wrap(original: Handler, change: Callable[[Any, Handler], Any]) -> Handler:
    # A plain function (not a partial): moto only dispatches to functions of the class.
    @functools.wraps(original)
    def method(self: Any) -> Any:
        return change(self, original)

    return method


def _patch_service_configuration() -> None:
    original_init = VPCServiceConfiguration.__init__
    signature = inspect.signature(original_init)

    @functools.wraps(original_init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        model.init_service(
            self,
            load_balancers=bound.arguments["load_balancers"],
            region=bound.arguments["region"],
        )

    def set_state(self: Any, value: str) -> None:
        vars(self)["_sandbox_service_state"] = value

    cls: Any = VPCServiceConfiguration
    cls.__init__ = __init__
    cls.service_state = property(model.service_state, set_state)
    cls.private_dns_name_configuration = property(model.dns_configuration)
    cls.availability_zone_ids = property(lambda self: list(self.sandbox_az_ids))


def _patch_endpoint() -> None:
    def set_state(self: Any, value: str) -> None:
        vars(self)["_sandbox_state"] = value

    cls: Any = VPCEndPoint
    cls.state = property(model.endpoint_state, set_state)


def _patch_load_balancers() -> None:
    original = ELBv2Backend.create_load_balancer

    @functools.wraps(original)
    def create_load_balancer(self: Any, *args: Any, **kwargs: Any) -> Any:
        balancer = original(self, *args, **kwargs)
        if balancer.type == "network" and ":loadbalancer/app/" in balancer.arn:
            old_arn = balancer.arn
            balancer.arn = old_arn.replace(":loadbalancer/app/", ":loadbalancer/net/", 1)
            self.load_balancers[balancer.arn] = self.load_balancers.pop(old_arn)
            tags = self.tagging_service.tags.pop(old_arn, None)
            if tags is not None:
                self.tagging_service.tags[balancer.arn] = tags
        return balancer

    cls: Any = ELBv2Backend
    cls.create_load_balancer = create_load_balancer
