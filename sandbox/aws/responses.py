"""The EC2 actions the extension adds to moto or changes, as methods of moto's `EC2Response`.

New actions are plain functions `(response) -> ActionResult`. Changed actions take the
original moto method as a second argument and usually call it. `extension.install` binds
both onto `EC2Response`. `self.ec2_backend` is the backend of the calling account, so for a
provider call it is the provider's and for a consumer call the consumer's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import InvalidServiceName

from sandbox.aws import model
from sandbox.aws.paging import apply_filters, paginate
from sandbox.aws.settings import LOCK, count_call, take_fault

Handler = Callable[[Any], Any]

CONNECTION_FILTERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "service-id": lambda row: row["ServiceId"],
    "vpc-endpoint-id": lambda row: row["VpcEndpointId"],
    "vpc-endpoint-state": lambda row: row["VpcEndpointState"],
    "vpc-endpoint-owner": lambda row: row["VpcEndpointOwner"],
    "vpc-endpoint-region": lambda row: row["VpcEndpointRegion"],
    "ip-address-type": lambda row: row["IpAddressType"],
}
SERVICE_FILTERS: dict[str, Callable[[Any], Any]] = {
    "service-id": lambda service: service.id,
    "service-name": lambda service: service.service_name,
    "service-state": model.service_state,
    "service-type": lambda service: service.service_type[0]["ServiceType"],
}


def _tags(service: Any) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in service.get_tags()}


def _connection_key(row: dict[str, Any]) -> str:
    return f"{row['CreationTimestamp'].isoformat()}|{row['VpcEndpointId']}"


# --- actions moto lacks -------------------------------------------------------------------


def describe_vpc_endpoint_connections(self: Any) -> ActionResult:
    """Connection requests to the caller's services, filtered and paginated."""
    provider = self.ec2_backend
    with LOCK:
        services = {s.service_name: s for s in provider.configurations.values()}
        rows = [
            model.connection(endpoint, services[endpoint.service_name])
            for endpoint in model.endpoints_of(region=self.region, service_names=set(services))
        ]
    rows = apply_filters(rows, filters=self._filters_from_querystring(), fields=CONNECTION_FILTERS)
    page, token = paginate(
        rows,
        key=_connection_key,
        max_results=self._get_int_param("MaxResults"),
        next_token=self._get_param("NextToken"),
    )
    return ActionResult({"VpcEndpointConnections": page, "NextToken": token})


def accept_vpc_endpoint_connections(self: Any) -> ActionResult:
    """Accept connection requests: `pendingAcceptance` → `pending` → `available`."""
    with LOCK:
        unsuccessful = model.decide(
            self.ec2_backend,
            service_id=self._get_param("ServiceId"),
            endpoint_ids=self._get_param("VpcEndpointIds", []),
            accept=True,
        )
    return ActionResult({"Unsuccessful": unsuccessful})


def reject_vpc_endpoint_connections(self: Any) -> ActionResult:
    """Reject connection requests or close connections: → `rejected`."""
    with LOCK:
        unsuccessful = model.decide(
            self.ec2_backend,
            service_id=self._get_param("ServiceId"),
            endpoint_ids=self._get_param("VpcEndpointIds", []),
            accept=False,
        )
    return ActionResult({"Unsuccessful": unsuccessful})


def start_vpc_endpoint_service_private_dns_verification(self: Any) -> ActionResult:
    """Check the service's domain: `verified`, or `failed` when the sandbox is told so."""
    with LOCK:
        service = model.service_of(self.ec2_backend, service_id=self._get_param("ServiceId"))
        model.verify_dns(service)
    return ActionResult({"ReturnValue": True})


NEW_ACTIONS: dict[str, Handler] = {
    "describe_vpc_endpoint_connections": describe_vpc_endpoint_connections,
    "accept_vpc_endpoint_connections": accept_vpc_endpoint_connections,
    "reject_vpc_endpoint_connections": reject_vpc_endpoint_connections,
    "start_vpc_endpoint_service_private_dns_verification": (
        start_vpc_endpoint_service_private_dns_verification
    ),
}


# --- actions moto has, changed --------------------------------------------------------------


def create_vpc_endpoint_service_configuration(self: Any, original: Handler) -> Any:
    """`ClientToken` idempotency: the same token returns the same service."""
    token = self._get_param("ClientToken")
    with LOCK:
        if token:
            for service in self.ec2_backend.configurations.values():
                if vars(service).get("sandbox_client_token") == token:
                    _check_same_request(self, service, token)
                    return ActionResult({"ServiceConfiguration": service, "ClientToken": token})
        result = original(self)
        service = result.result["ServiceConfiguration"]
        service.sandbox_client_token = token
    return ActionResult({"ServiceConfiguration": service, "ClientToken": token})


def _check_same_request(self: Any, service: Any, token: str) -> None:
    asked = sorted(self._get_param("NetworkLoadBalancerArns", []))
    if asked != sorted(service.network_load_balancer_arns):
        raise model.client_error(
            "IdempotentParameterMismatch",
            f"The client token {token} was already used with different parameters.",
        )


def describe_vpc_endpoint_service_configurations(self: Any, original: Handler) -> Any:
    """Filters (`service-id`, `service-name`, `service-state`, tags) and pagination."""
    with LOCK:
        services = self.ec2_backend.describe_vpc_endpoint_service_configurations(
            self._get_param("ServiceIds", [])
        )
        services = apply_filters(
            services, filters=self._filters_from_querystring(), fields=SERVICE_FILTERS, tags=_tags
        )
    page, token = paginate(
        services,
        key=lambda service: str(service.id),
        max_results=self._get_int_param("MaxResults"),
        next_token=self._get_param("NextToken"),
    )
    return ActionResult({"ServiceConfigurations": page, "NextToken": token})


def modify_vpc_endpoint_service_configuration(self: Any, original: Handler) -> Any:
    """A new or removed private DNS name restarts domain verification."""
    with LOCK:
        result = original(self)
        service = model.service_of(self.ec2_backend, service_id=self._get_param("ServiceId"))
        if self._get_bool_param("RemovePrivateDnsName", False):
            service.private_dns_name = None
        if self._get_param("PrivateDnsName") is not None or service.private_dns_name is None:
            model.reset_dns(service)
    return result


def delete_vpc_endpoint_service_configurations(self: Any, original: Handler) -> Any:
    """AWS refuses to delete a service that still has active connections."""
    provider = self.ec2_backend
    unsuccessful = []
    deletable = []
    with LOCK:
        for service_id in self._get_param("ServiceIds", []):
            service = provider.configurations.get(service_id)
            if service is None:
                code = "InvalidVpcEndpointServiceId.NotFound"
                message = f"The VpcEndpointService Id '{service_id}' does not exist"
            elif model.blocking_connections(service):
                code = "ExistingVpcEndpointConnections"
                message = "Service has existing active VPC Endpoint connections!"
            else:
                deletable.append(service_id)
                continue
            unsuccessful.append(
                {"ResourceId": service_id, "Error": {"Code": code, "Message": message}}
            )
        provider.delete_vpc_endpoint_service_configurations(deletable)
    return ActionResult({"Unsuccessful": unsuccessful})


def create_vpc_endpoint(self: Any, original: Handler) -> Any:
    """Permissions, AZ coverage, security group and private DNS checks; the endpoint gets the
    VPC's default group when given none, as on AWS, and awaits acceptance."""
    service_name = self._get_param("ServiceName") or ""
    with LOCK:
        service = model.find_service_by_name(region=self.region, service_name=service_name)
        if service is None:
            if service_name.startswith("com.amazonaws.vpce."):
                raise InvalidServiceName(service_name)
            return original(self)
        visible = model.may_connect(service, self.current_account)
        if not visible or model.service_state(service) != "Available":
            raise InvalidServiceName(service_name)
        consumer = self.ec2_backend
        vpc_id = self._get_param("VpcId")
        consumer.get_vpc(vpc_id)
        subnet_ids = self._get_param("SubnetIds", [])
        model.check_subnets(service, consumer=consumer, subnet_ids=subnet_ids)
        groups = self._get_param("SecurityGroupIds", [])
        model.check_security_groups(
            consumer, vpc_id=vpc_id, subnet_ids=subnet_ids, group_ids=groups
        )
        private_dns = self._get_bool_param("PrivateDnsEnabled", False)
        if private_dns:
            model.check_private_dns(service, consumer=consumer, vpc_id=vpc_id, endpoint_id=None)
        result = original(self)
        endpoint = result.result["VpcEndpoint"]
        if not groups:
            endpoint.security_group_ids = model.default_security_groups(consumer, vpc_id=vpc_id)
        model.attach(endpoint, service, private_dns=private_dns)
    return result


def describe_vpc_endpoint_services(self: Any, original: Handler) -> Any:
    """Endpoint services by name as their consumers see them: only to accounts allowed on
    them, with the private DNS name's verification state (AWS services: moto's answer)."""
    names = self._get_param("ServiceNames", [])
    with LOCK:
        found = [model.find_service_by_name(region=self.region, service_name=n) for n in names]
        if not names or all(service is None for service in found):
            return original(self)
        details = []
        for name, service in zip(names, found, strict=True):
            if service is None or not model.may_connect(service, self.current_account):
                raise InvalidServiceName(name)
            details.append(model.consumer_view(service))
    return ActionResult({"ServiceNames": list(names), "ServiceDetails": details})


def modify_vpc_endpoint(self: Any, original: Handler) -> Any:
    """`--private-dns-enabled` takes effect, after AWS's private DNS checks."""
    requested = self._get_bool_param("PrivateDnsEnabled")
    with LOCK:
        consumer = self.ec2_backend
        endpoint = consumer.get_vpc_end_point(self._get_param("VpcEndpointId"))
        service = model.find_service_by_name(region=self.region, service_name=endpoint.service_name)
        if requested and service is not None:
            model.check_private_dns(
                service, consumer=consumer, vpc_id=endpoint.vpc_id, endpoint_id=endpoint.id
            )
        result = original(self)
        if requested is not None:
            endpoint.private_dns_enabled = requested
            if requested and service is not None:
                model.add_private_dns_entry(endpoint, service)
    return result


def call_action(self: Any, original: Handler) -> Any:
    """Count every EC2 call and answer with an injected fault when one is armed (for the
    calling region)."""
    action = self._get_action()
    count_call(action=action)
    fault = take_fault(action=action, region=self.region)
    if fault is None:
        return original(self)
    if fault.body is not None:
        return fault.status, {"status": str(fault.status), "Content-Type": "text/plain"}, fault.body
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        f"<Code>{fault.code}</Code><Message>{fault.message}</Message>"
        "</Error></Errors><RequestID>sandbox-fault</RequestID></Response>"
    )
    return fault.status, {"status": str(fault.status), "Content-Type": "text/xml"}, body


CHANGED_ACTIONS: dict[str, Callable[[Any, Handler], Any]] = {
    "create_vpc_endpoint_service_configuration": create_vpc_endpoint_service_configuration,
    "describe_vpc_endpoint_service_configurations": describe_vpc_endpoint_service_configurations,
    "modify_vpc_endpoint_service_configuration": modify_vpc_endpoint_service_configuration,
    "delete_vpc_endpoint_service_configurations": delete_vpc_endpoint_service_configurations,
    "create_vpc_endpoint": create_vpc_endpoint,
    "modify_vpc_endpoint": modify_vpc_endpoint,
    "describe_vpc_endpoint_services": describe_vpc_endpoint_services,
    "call_action": call_action,
}
