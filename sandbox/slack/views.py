"""The views.* Web API methods: modals opened, pushed and updated, and App Home pages."""

from __future__ import annotations

from sandbox.slack.args import json_arg, text_arg
from sandbox.slack.blockkit import view_errors
from sandbox.slack.state import ApiError, Workspace
from sandbox.slack.workspace import (
    APP_ID,
    JsonDict,
    new_view_hash,
    random_id,
)

PUSH_LIMIT = 3


def stored_view(
    ws: Workspace, view: JsonDict, *, view_id: str, root_view_id: str, previous_view_id: str | None
) -> JsonDict:
    """The view object Slack keeps and returns for a view payload, with a fresh hash."""
    stored: JsonDict = {
        "id": view_id,
        "team_id": ws.team.id,
        "type": view["type"],
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": new_view_hash(ws.clock()),
        "title": view.get("title"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "previous_view_id": previous_view_id,
        "root_view_id": root_view_id,
        "app_id": APP_ID,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": ws.team.id,
        "bot_id": ws.team.bot_id,
    }
    return ws.snapshot(stored)


def view_arg(args: JsonDict, *, kinds: tuple[str, ...]) -> JsonDict:
    """The ``view`` argument, checked against Block Kit's limits."""
    view = json_arg(args, "view", error="invalid_arguments")
    if view is None:
        raise ApiError("invalid_arguments", "[ERROR] missing required field: view")
    errors = view_errors(view, kinds=kinds)
    if errors or not isinstance(view, dict):
        raise ApiError("invalid_arguments", *errors)
    return view


def _claim_external_id(ws: Workspace, view: JsonDict, view_id: str) -> None:
    external_id = view.get("external_id")
    if not external_id:
        return
    if ws.external_ids.get(external_id, view_id) != view_id:
        raise ApiError("duplicate_external_id")
    ws.external_ids[external_id] = view_id


def push_onto(ws: Workspace, stack: list[str], view: JsonDict) -> JsonDict:
    """Put a modal view on top of an open stack (at most three deep)."""
    if len(stack) >= PUSH_LIMIT:
        raise ApiError("push_limit_reached")
    view_id = random_id("V")
    _claim_external_id(ws, view, view_id)
    stored = stored_view(
        ws, view, view_id=view_id, root_view_id=stack[0], previous_view_id=stack[-1]
    )
    ws.views[view_id] = stored
    stack.append(view_id)
    return stored


def replace(ws: Workspace, view_id: str, view: JsonDict) -> JsonDict:
    """Replace an open view in place: same id and place in its stack, a new hash."""
    current = ws.views[view_id]
    if current["type"] != view["type"]:
        raise ApiError("invalid_arguments", "[ERROR] cannot change the type of a view")
    _claim_external_id(ws, view, view_id)
    if current["external_id"] and current["external_id"] != view.get("external_id"):
        ws.external_ids.pop(current["external_id"], None)
    stored = stored_view(
        ws,
        view,
        view_id=view_id,
        root_view_id=current["root_view_id"],
        previous_view_id=current["previous_view_id"],
    )
    ws.views[view_id] = stored
    return stored


def _spend(ws: Workspace, args: JsonDict) -> None:
    ws.spend_trigger(args.get("trigger_id") or args.get("interactivity_pointer"))


def open_(ws: Workspace, args: JsonDict) -> JsonDict:
    """views.open: a new modal for the user whose interaction minted the trigger id."""
    view = view_arg(args, kinds=("modal",))
    _spend(ws, args)
    view_id = random_id("V")
    _claim_external_id(ws, view, view_id)
    stored = stored_view(ws, view, view_id=view_id, root_view_id=view_id, previous_view_id=None)
    ws.views[view_id] = stored
    ws.stacks[view_id] = [view_id]
    return {"ok": True, "view": ws.snapshot(stored)}


def push(ws: Workspace, args: JsonDict) -> JsonDict:
    """views.push: a modal on top of the most recently opened modal stack."""
    view = view_arg(args, kinds=("modal",))
    _spend(ws, args)
    if not ws.stacks:
        raise ApiError("not_found")
    stack = ws.stacks[next(reversed(ws.stacks))]
    return {"ok": True, "view": ws.snapshot(push_onto(ws, stack, view))}


def update(ws: Workspace, args: JsonDict) -> JsonDict:
    """views.update: replace an open view by ``view_id`` or ``external_id`` if ``hash`` matches."""
    view = view_arg(args, kinds=("modal", "home"))
    view_id = text_arg(args, "view_id")
    external_id = text_arg(args, "external_id")
    if view_id is None and external_id is None:
        raise ApiError("invalid_arguments", "[ERROR] either view_id or external_id is required")
    if view_id is None:
        view_id = ws.external_ids.get(external_id or "")
    if view_id is None or view_id not in ws.views:
        raise ApiError("not_found")
    expected = text_arg(args, "hash")
    if expected is not None and expected != ws.views[view_id]["hash"]:
        raise ApiError("hash_conflict")
    return {"ok": True, "view": ws.snapshot(replace(ws, view_id, view))}


def publish(ws: Workspace, args: JsonDict) -> JsonDict:
    """views.publish: set a user's App Home page, if ``hash`` is current."""
    user = ws.user(args.get("user_id"))
    view = view_arg(args, kinds=("home",))
    view_id = ws.homes.get(user.id)
    expected = text_arg(args, "hash")
    if view_id is None:
        if expected is not None:
            raise ApiError("hash_conflict")
        view_id = random_id("V")
        ws.views[view_id] = stored_view(
            ws, view, view_id=view_id, root_view_id=view_id, previous_view_id=None
        )
        ws.homes[user.id] = view_id
        _claim_external_id(ws, view, view_id)
        return {"ok": True, "view": ws.snapshot(ws.views[view_id])}
    if expected is not None and expected != ws.views[view_id]["hash"]:
        raise ApiError("hash_conflict")
    return {"ok": True, "view": ws.snapshot(replace(ws, view_id, view))}
