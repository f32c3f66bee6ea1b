"""The Home tab (the Private Endpoint page) and the endpoint buttons everywhere."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.domain.connection import Client
from bot.services import endpoints, wizard
from bot.slack.deps import Deps, log
from bot.slack.ids import ActionId
from bot.slack.metadata import ConnectChoice, EndpointRef, button_value
from bot.slack.middleware import (
    Answer,
    ack_now,
    after_ack,
    open_after_ack,
    reply_after_ack,
)
from bot.slack.seen_events import first_delivery
from bot.slack.views import messages
from bot.slack.views.home import home_view, rows_that_fit
from bot.slack.views.wizard import wizard_view
from bot.storage import cluster_queries, home_queries
from bot.storage.db import is_unavailable, unavailable_reason


@dataclass(frozen=True, slots=True)
class HomePage:
    """The Home tab as built now, and what the user's rows record as last published."""

    view: dict[str, Any]
    digest: str
    mine: home_queries.HomeProjects

    @property
    def unchanged(self) -> bool:
        """Whether Slack already shows this very page (as this or another process sent it)."""
        return self.mine.digest == self.digest


def home_for(session: Session, user_id: str, team_id: str) -> HomePage:
    """The Home tab of `user_id` in workspace `team_id` (its projects only), in four queries
    whatever the number of endpoints."""
    mine = home_queries.list_home_projects(session=session, user_id=user_id, team_id=team_id)
    listings = endpoints.listings(
        session=session,
        project_ids=[p.id for p in mine.projects],
        limit=rows_that_fit(len(mine.projects)),
    )
    view = home_view(
        user_id=user_id, projects=mine.projects, listings=listings, now=datetime.now(UTC)
    )
    text = json.dumps(view, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{team_id}\n{text}".encode()).hexdigest()  # a page per workspace
    return HomePage(view=view, digest=digest, mine=mine)


class OnePerUser:
    """Runs a user's publish one at a time in this process: opens that arrive while one runs
    are folded into one more run after it (which reads what they saw, or newer), so a burst
    of opens makes a few publishes, never two at once that race each other."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._again: dict[str, bool] = {}  # users being published, and whether to go again

    def run(self, user_id: str, publish: Callable[[], None]) -> None:
        """`publish` now, or once more after the one running for this user."""
        with self._lock:
            if user_id in self._again:
                self._again[user_id] = True
                return
            self._again[user_id] = False
        try:
            while True:
                publish()
                with self._lock:
                    if not self._again[user_id]:
                        del self._again[user_id]  # (under the lock: no open is lost)
                        return
                    self._again[user_id] = False
        except BaseException:
            with self._lock:
                self._again.pop(user_id, None)
            raise


def _publish(
    deps: Deps, client: WebClient, user_id: str, team_id: str, shown: str | None = None
) -> None:
    """Publish the user's Home tab unless Slack shows it already (the page recorded as
    published, and `shown`, the hash of the page the event says Slack shows, if it says, is
    that page's); a page another process has published since this one's record
    (`hash_conflict`) is read and built again, then sent."""
    page = deps.read(lambda session: home_for(session, user_id, team_id))
    if page.unchanged and shown in (None, page.mine.slack_hash):
        return
    try:
        published = client.views_publish(user_id=user_id, view=page.view, hash=page.mine.slack_hash)
    except SlackApiError as error:
        if error.response.get("error") != "hash_conflict":
            log.warning("views.publish failed: %s", error.response.get("error"))
            return
        page = deps.read(lambda session: home_for(session, user_id, team_id))
        try:
            published = client.views_publish(user_id=user_id, view=page.view)
        except SlackApiError as again:
            log.warning("views.publish failed: %s", again.response.get("error"))
            return
    slack_hash = (published.get("view") or {}).get("hash")
    try:
        deps.run(  # only once Slack has taken the page
            lambda session: home_queries.record_published(
                session=session,
                member_ids=page.mine.member_ids,
                digest=page.digest,
                slack_hash=slack_hash,
            )
        )
    except SQLAlchemyError as error:  # the page is out; the next opening sends it again
        if not is_unavailable(error):
            raise
        log.warning("Home tab published, not recorded: %s", unavailable_reason(error))


def _endpoint_id(body: dict[str, Any]) -> int | None:
    ref = button_value(body, EndpointRef)
    return ref.endpoint_id if ref is not None else None


def register(app: App, deps: Deps) -> None:
    """Wire the Home tab, Edit, Retry, Terminate and the connect picker."""

    one_per_user = OnePerUser()

    def publish(client: WebClient, user_id: str, team_id: str, shown: str | None = None) -> None:
        key = f"{team_id}:{user_id}"
        one_per_user.run(key, lambda: _publish(deps, client, user_id, team_id, shown))

    def on_home(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        with after_ack("publish the Home tab"):
            if not first_delivery(deps, body):  # a retry of an event acted on
                return
            view = event.get("view")
            shown = view.get("hash") if isinstance(view, dict) else None
            publish(client, event["user"], str(body.get("team_id") or ""), shown)

    # nothing before the ack, not even the event's claim: `on_home` claims it, then publishes
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
        publish(client, body["user"]["id"], body["team"]["id"])

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
            project = deps.projects.get(session, channel_id=channel, team_id=team)
            if project is None:
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
