"""State that crosses Slack: `private_metadata` and button values, as typed JSON."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.domain.connection import Client
from bot.domain.iac import Tool
from bot.domain.states import Stage
from bot.domain.validation import ID_MAX, SLACK_ID_MAX

RowId = Annotated[int, Field(ge=1, le=ID_MAX)]
"""A row id as the database can hold it: anything else names nothing."""
SlackId = Annotated[str, Field(min_length=1, max_length=SLACK_ID_MAX)]


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
    except (ValidationError, KeyError, IndexError, TypeError, ValueError):
        return None


class WizardMetadata(_Json):
    """The wizard's `private_metadata`: where it is and what it has chosen so far."""

    project_id: RowId
    stage: Stage
    channel_id: SlackId
    cluster_id: RowId | None = None
    endpoint_id: RowId | None = None
    show_instructions: bool = False
    tool: Tool = Tool.CLI  # how the commands are shown: AWS CLI, Terraform or CloudFormation


class ToolChoice(_Json):
    """A button value choosing how the wizard shows the user's side of the endpoint."""

    tool: Tool


class EndpointRef(_Json):
    """A button value naming one private endpoint."""

    endpoint_id: RowId


class ServiceRef(_Json):
    """A button value naming one endpoint service (the bot's id, not AWS's)."""

    service_id: RowId


class ConnectChoice(_Json):
    """A connect picker option: which cluster, and which client's string."""

    cluster_id: RowId
    client: Client


class RequestRef(_Json):
    """A button value naming one connection request from an unknown endpoint."""

    request_id: RowId
