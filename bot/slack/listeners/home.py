"""The Home tab (the Private Endpoint page) and the endpoint buttons everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.domain.connection import Client
from bot.services import endpoints, wizard
from bot.slack.deps import Deps, log
from bot.slack.ids import ActionId
from bot.slack.metadata import ConnectChoice, EndpointRef, button_value
from bot.slack.middleware import (
    Answer,
    UnboundChannel,
    ack_now,
    after_ack,
    find_project,
    open_after_ack,
    reply_after_ack,
)
from bot.slack.views import messages
from bot.slack.views.home import home_view, rows_that_fit
from bot.slack.views.wizard import wizard_view
from bot.storage import cluster_queries, project_queries


def home_for(session: Session, user_id: str) -> dict[str, Any]:
    """The Home tab of `user_id`, in five queries whatever the number of endpoints."""
    projects = project_queries.list_projects_of_user(session=session, user_id=user_id)
    listings = endpoints.listings(
        session=session, project_ids=[p.id for p in projects], limit=rows_that_fit(len(projects))
    )
    return home_view(
        user_id=user_id,
        projects=[p.to_domain() for p in projects],
        listings=listings,
        now=datetime.now(UTC),
    )


def _publish(deps: Deps, client: WebClient, user_id: str) -> None:
    view = deps.read(lambda session: home_for(session, user_id))
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as error:
        log.warning("views.publish failed: %s", error.response.get("error"))


def _endpoint_id(body: dict[str, Any]) -> int | None:
    ref = button_value(body, EndpointRef)
    return ref.endpoint_id if ref is not None else None


def register(app: App, deps: Deps) -> None:
    """Wire the Home tab, Edit, Retry, Terminate and the connect picker."""

    def on_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") == "home":
            with after_ack("publish the Home tab"):
                _publish(deps, client, event["user"])

    app.event("app_home_opened")(ack=ack_now, lazy=[on_home])

    def reopen(body: dict[str, Any]) -> Answer | None:
        endpoint_id, user, team = _endpoint_id(body), body["user"]["id"], body["team"]["id"]
        if endpoint_id is None:
            return None
        state = deps.run(
            lambda session: wizard.resume(
                session=session, endpoint_id=endpoint_id, user_id=user, team_id=team
            )
        )
        return Answer(view=wizard_view(state))

    reopen_after_ack = open_after_ack(deps, "reopen the wizard", reopen)
    app.action(ActionId.EDIT)(ack=ack_now, lazy=[reopen_after_ack])
    app.action(ActionId.RETRY)(ack=ack_now, lazy=[reopen_after_ack])

    def terminate(body: dict[str, Any]) -> wizard.Terminated | None:
        """Terminate the clicked button's endpoint; None for a button without one."""
        endpoint_id, user, team = _endpoint_id(body), body["user"]["id"], body["team"]["id"]
        if endpoint_id is None:
            return None
        return deps.run(
            lambda session: wizard.terminate_endpoint(
                session=session, endpoint_id=endpoint_id, user_id=user, team_id=team
            )
        )

    def terminate_from_home(body: dict[str, Any]) -> Answer | None:
        return None if terminate(body) is None else Answer()

    def republish(body: dict[str, Any], client: WebClient) -> None:
        _publish(deps, client, body["user"]["id"])

    app.action(ActionId.TERMINATE)(
        ack=ack_now,
        lazy=[open_after_ack(deps, "terminate from Home", terminate_from_home, then=republish)],
    )

    def terminate_confirmed(body: dict[str, Any]) -> Answer | None:
        ended = terminate(body)
        if ended is None:
            return None
        return Answer(
            messages.terminated_message(
                endpoint_id=ended.endpoint.id,
                vpce_id=ended.endpoint.vpce_id,
                region=ended.cluster.region,
                cluster=ended.cluster.name,
            )
        )

    app.action(ActionId.TERMINATE_CONFIRMED)(
        ack=ack_now,
        lazy=[reply_after_ack("terminate from a message", terminate_confirmed, replace=True)],
    )

    def connect_client(body: dict[str, Any]) -> Answer | None:
        try:
            choice = ConnectChoice.model_validate_json(
                body["actions"][0]["selected_option"]["value"]
            )
        except (ValidationError, KeyError):
            return None
        user, team = body["user"]["id"], body["team"]["id"]
        channel = (body.get("channel") or {}).get("id")
        if channel is None:
            return None

        def load(session: Session) -> dict[str, Any]:
            try:
                project = find_project(session, channel_id=channel, team_id=team)
            except UnboundChannel:
                return messages.refusal("That cluster is not in this channel's project.")
            cluster = cluster_queries.get_cluster(session=session, cluster_id=choice.cluster_id)
            if cluster is None or cluster.project_id != project.id:
                return messages.refusal("That cluster is not in this channel's project.")
            found = endpoints.connect(
                session=session, project=project, user_id=user, cluster_name=cluster.name
            )
            return messages.connect_message(found, Client(choice.client))

        return Answer(deps.read(load))

    app.action(ActionId.CONNECT_CLIENT)(
        ack=ack_now,
        lazy=[reply_after_ack("switch the connect client", connect_client, replace=True)],
    )
