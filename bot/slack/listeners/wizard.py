"""The wizard modal: each submission answers with the next stage's view or field errors."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from slack_bolt import App
from sqlalchemy.orm import Session

from bot.domain.errors import InvalidInput
from bot.domain.iac import Tool
from bot.domain.states import Stage
from bot.domain.validation import ID_MAX, Field
from bot.services import wizard
from bot.services.wizard import WizardState
from bot.slack.deps import Deps
from bot.slack.ids import ActionId, BlockId, CallbackId
from bot.slack.listeners.modals import endpoint_of, message_view
from bot.slack.metadata import ToolChoice, WizardMetadata, button_value
from bot.slack.middleware import (
    Answer,
    Caller,
    ack_now,
    after_ack,
    answer_submission,
    update_after_ack,
)
from bot.slack.views.wizard import wizard_view
from bot.slack.views.wizard_tools import TOOL_ACTIONS
from bot.storage.project_cache import ProjectCache, ProjectLike

FIELD_BLOCKS: dict[str, BlockId] = {
    Field.CLUSTER: BlockId.CLUSTER,
    Field.REGION: BlockId.REGION,
    Field.ACCOUNT_ID: BlockId.ACCOUNT_ID,
    Field.VPC_ID: BlockId.VPC_ID,
    Field.SUBNET_IDS: BlockId.SUBNET_IDS,
    Field.VPCE_ID: BlockId.VPCE_ID,
    Field.SECURITY_GROUP_IDS: BlockId.SECURITY_GROUP_IDS,
}


def value(values: dict[str, Any], block: BlockId) -> str:
    """What the person entered or chose in an input block ("" when empty)."""
    entered = values.get(block)
    element = entered.get(ActionId.VALUE) if isinstance(entered, dict) else None
    if not isinstance(element, dict):
        return ""
    selected = element.get("selected_option")
    if isinstance(selected, dict):
        return str(selected.get("value") or "")
    return str(element.get("value") or "")


def _int(text: str, field: Field) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 10 or int(text) > ID_MAX:
        raise InvalidInput(field, "Choose one of the options.")
    return int(text)


def submit(
    session: Session, meta: WizardMetadata, body: dict[str, Any], projects: ProjectCache
) -> WizardState:
    """Apply one stage's submission and return the wizard as it stands after it."""
    view, user, team = body["view"], body["user"]["id"], body["team"]["id"]
    values = view.get("state", {}).get("values", {})
    if meta.endpoint_id is None:
        caller = Caller(team_id=team, channel_id=meta.channel_id, user_id=user, projects=projects)
        project: ProjectLike = caller.project(session)
        if caller.is_new:  # a write only the first time someone uses the bot there
            project = caller.remember(session)
        if meta.stage is Stage.CHOOSE_CLUSTER:
            return wizard.submit_cluster(
                session=session,
                project=project,
                user_id=user,
                channel_id=meta.channel_id,
                cluster_id=_int(value(values, BlockId.CLUSTER), Field.CLUSTER),
            )
        if meta.cluster_id is None:  # no Service Endpoint stage without a chosen cluster
            raise InvalidInput(Field.CLUSTER, "This wizard has lost its cluster.")
        return wizard.submit_region(
            session=session,
            project=project,
            user_id=user,
            channel_id=meta.channel_id,
            cluster_id=meta.cluster_id,
            region=value(values, BlockId.REGION),
            creation_key=f"{team}:{view['id']}",
            view_id=view["id"],
        )
    endpoint_id = meta.endpoint_id
    match meta.stage:
        case Stage.INTERFACE_ENDPOINT:
            state = wizard.submit_interface(
                session=session,
                endpoint_id=endpoint_id,
                user_id=user,
                account_id=value(values, BlockId.ACCOUNT_ID),
                vpc_id=value(values, BlockId.VPC_ID),
                subnet_ids=value(values, BlockId.SUBNET_IDS),
                security_group_ids=value(values, BlockId.SECURITY_GROUP_IDS),
                view_id=view["id"],
                team_id=team,
            )
        case Stage.ACCEPT_ENDPOINT_CONNECTION:
            state = wizard.submit_vpce(
                session=session,
                endpoint_id=endpoint_id,
                user_id=user,
                vpce_id=value(values, BlockId.VPCE_ID),
                view_id=view["id"],
                team_id=team,
            )
        case Stage.ENABLE_PRIVATE_DNS:
            state = wizard.submit_create(
                session=session,
                endpoint_id=endpoint_id,
                user_id=user,
                view_id=view["id"],
                team_id=team,
            )
        case _:
            state = wizard.current(
                session=session,
                endpoint_id=endpoint_id,
                user_id=user,
                view_id=view["id"],
                team_id=team,
            )
    return state


def register(app: App, deps: Deps) -> None:
    """Wire the wizard's submissions and buttons."""

    def on_submit(body: dict[str, Any]) -> Answer:
        try:
            meta = WizardMetadata.model_validate_json(body["view"].get("private_metadata") or "")
        except ValidationError:
            return Answer(view=message_view("This wizard has expired; run the command again."))
        try:
            state = deps.run(lambda session: submit(session, meta, body, deps.projects))
        except InvalidInput as error:  # not a refusal: the person corrects a field
            return _field_error(body["view"], error)
        return Answer(view=wizard_view(state, tool=meta.tool))  # the tool carries on

    def reshow(body: dict[str, Any], *, toggle: bool, tool: Tool | None) -> Answer | None:
        """The modal again, instructions toggled or another tool chosen."""
        view, user, team = body["view"], body["user"]["id"], body["team"]["id"]
        endpoint_id = endpoint_of(view)
        if endpoint_id is None:
            return None
        state = deps.read(
            lambda session: wizard.current(
                session=session, endpoint_id=endpoint_id, user_id=user, team_id=team
            )
        )
        showing, shown_tool = _shown(view)
        return Answer(
            view=wizard_view(state, show_instructions=showing != toggle, tool=tool or shown_tool)
        )

    def toggle(body: dict[str, Any]) -> Answer | None:
        return reshow(body, toggle=True, tool=None)

    def choose_tool(body: dict[str, Any]) -> Answer | None:
        choice = button_value(body, ToolChoice)
        return None if choice is None else reshow(body, toggle=False, tool=choice.tool)

    def forget(body: dict[str, Any]) -> None:
        view = body["view"]
        endpoint_id = endpoint_of(view)
        if endpoint_id is not None:
            with after_ack("forget a closed modal"):
                deps.run(
                    lambda session: wizard.forget_view(
                        session=session, endpoint_id=endpoint_id, view_id=view["id"]
                    )
                )

    app.view_submission(CallbackId.WIZARD)(answer_submission(on_submit))
    app.action(ActionId.TOGGLE_INSTRUCTIONS)(
        ack=ack_now, lazy=[update_after_ack("show/hide instructions", toggle)]
    )
    app.view_closed(CallbackId.WIZARD)(ack=ack_now, lazy=[forget])
    for action_id in TOOL_ACTIONS.values():
        app.action(action_id)(ack=ack_now, lazy=[update_after_ack("choose a tool", choose_tool)])


def _field_error(view: dict[str, Any], error: InvalidInput) -> Answer:
    """The message under the field the input came from, or, with no such field in the view,
    a modal that says so."""
    block = FIELD_BLOCKS.get(error.field)
    if block is not None and _has_block(view, block):
        return Answer(errors={block: error.message})
    return Answer(
        view=message_view(f"{error.message} Run `/private-endpoint create` to start again.")
    )


def _shown(view: dict[str, Any]) -> tuple[bool, Tool]:
    """Whether the modal shows its instructions now, and in which tool (from its metadata)."""
    try:
        meta = WizardMetadata.model_validate_json(view.get("private_metadata") or "")
    except ValidationError:
        return False, Tool.CLI
    return meta.show_instructions, meta.tool


def _has_block(view: dict[str, Any], block: BlockId) -> bool:
    blocks = view.get("blocks")
    return isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("block_id") == block for b in blocks
    )
