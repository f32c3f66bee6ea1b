"""State that crosses Slack: `private_metadata` and button values, as typed JSON."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.domain.connection import Client
from bot.domain.states import Stage


class _Json(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def dump(self) -> str:
        """The compact JSON form Slack stores."""
        return self.model_dump_json(exclude_none=True)


Ref = TypeVar("Ref", bound=_Json)


def button_value(body: dict[str, Any], model: type[Ref]) -> Ref | None:
    """The value of the button a block action pressed, read as `model`; None when it is
    missing or is not one (a stale or forged click)."""
    try:
        return model.model_validate_json(body["actions"][0]["value"])
    except (ValidationError, KeyError, IndexError, TypeError):
        return None


class WizardMetadata(_Json):
    """The wizard's `private_metadata`: where it is and what it has chosen so far."""

    project_id: int
    stage: Stage
    channel_id: str
    cluster_id: int | None = None
    endpoint_id: int | None = None
    show_instructions: bool = False


class EndpointRef(_Json):
    """A button value naming one private endpoint."""

    endpoint_id: int


class ServiceRef(_Json):
    """A button value naming one endpoint service (the bot's id, not AWS's)."""

    service_id: int


class ConnectChoice(_Json):
    """A connect picker option: which cluster, and which client's string."""

    cluster_id: int
    client: Client


class RequestRef(_Json):
    """A button value naming one connection request from an unknown endpoint."""

    request_id: int
