"""Domain helpers only tests use: a cluster drop's cascade in one go, and Availability Zone ids.

The bot drops a cluster's endpoints one by one through the transition table (see
`bot.services.clusters`) and never reads an AZ id from a person; these keep the tests'
spelled-out expectations of both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NewType

from bot.domain.entities import PrivateEndpoint
from bot.domain.errors import InvalidInput
from bot.domain.states import EndpointStatus
from bot.domain.transitions import EndpointChange, EndpointEvent, endpoint_transition
from bot.domain.validation import Field, _shown, _strip

AzId = NewType("AzId", str)

_AZ_ID = re.compile(r"[a-z]{2,5}[0-9]{1,2}-az[0-9]{1,2}", re.ASCII)


def drop_cascade(
    endpoints: Sequence[PrivateEndpoint],
) -> list[tuple[PrivateEndpoint, EndpointChange]]:
    """Dropping a cluster: each of its endpoints not already going goes to `deleting`."""
    return [
        (endpoint, endpoint_transition(endpoint.status, EndpointEvent.CLUSTER_DROPPED))
        for endpoint in endpoints
        if endpoint.status not in (EndpointStatus.DELETING, EndpointStatus.DELETED)
    ]


def parse_az_id(text: str) -> AzId:
    """An Availability Zone id such as `usw2-az1` (the same in every account)."""
    value = _strip(text)
    if _AZ_ID.fullmatch(value) is None:
        raise InvalidInput(Field.REGION, f"{_shown(value)} is not an Availability Zone ID.")
    return AzId(value)
