"""What Slack sends to the bot, built as pure functions in the shapes of Slack's payloads.

Every builder takes ``team_id`` (the default workspace if omitted): the workspace's domain and
the app's bot user and bot id in it follow from it, as the stand-in answers for that team.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import quote

from sandbox.slack.workspace import (
    APP_ID,
    ENTERPRISE_ID,
    ENTERPRISE_NAME,
    TEAM_ID,
    JsonDict,
    bot_id_for,
    bot_user_id_for,
    new_trigger_id,
    random_id,
    team_domain_for,
)

VERIFICATION_TOKEN = "gIkuvaNzQIHg97ATvDxqgjtO"  # the deprecated ``token`` Slack still sends
RESPONSE_URL = "https://hooks.slack.com/commands/1234/5678"
Answer = str | Sequence[str] | None

_TEXT_INPUTS = ("plain_text_input", "email_text_input", "url_text_input", "number_input")
_ONE_OPTION = ("static_select", "radio_buttons")
_MANY_OPTIONS = ("multi_static_select", "checkboxes")
_PICKERS = {
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
    "datepicker": "selected_date",
}


def slash_command_body(
    command: str,
    text: str,
    *,
    user_id: str,
    channel_id: str,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    user_name: str | None = None,
    channel_name: str | None = None,
    enterprise_id: str | None = ENTERPRISE_ID,
    response_url: str = RESPONSE_URL,
) -> str:
    """A slash command's form-encoded body, fields in Slack's order; fresh trigger id by default."""
    fields = [
        ("token", VERIFICATION_TOKEN),
        ("team_id", team_id),
        ("team_domain", team_domain_for(team_id)),
        ("enterprise_id", enterprise_id),
        ("enterprise_name", ENTERPRISE_NAME if enterprise_id else None),
        ("channel_id", channel_id),
        ("channel_name", channel_name or f"channel-{channel_id.lower()}"),
        ("user_id", user_id),
        ("user_name", user_name or f"user-{user_id.lower()}"),
        ("command", command),
        ("text", text),
        ("api_app_id", APP_ID),
        ("is_enterprise_install", "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id or new_trigger_id()),
    ]
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in fields if v is not None)


def interactivity_body(payload: JsonDict) -> str:
    """An interaction's form-encoded body: the single field ``payload=<JSON>``."""
    return "payload=" + quote(json.dumps(payload), safe="")


def _user(user_id: str, team_id: str, user_name: str | None) -> JsonDict:
    name = user_name or f"user-{user_id.lower()}"
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _common(kind: str, *, user_id: str, team_id: str, user_name: str | None) -> JsonDict:
    return {
        "type": kind,
        "user": _user(user_id, team_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "team": {"id": team_id, "domain": team_domain_for(team_id)},
        "enterprise": None,
        "is_enterprise_install": False,
    }


def _walk_elements(blocks: Sequence[JsonDict]) -> Iterator[tuple[str | None, JsonDict]]:
    for block in blocks:
        block_id = block.get("block_id")
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            yield block_id, element
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                yield block_id, block[key]


def _options(element: JsonDict) -> list[JsonDict]:
    groups = element.get("option_groups", [])
    return [*element.get("options", []), *(o for g in groups for o in g.get("options", []))]


def _pick(element: JsonDict, value: str) -> JsonDict:
    for option in _options(element):
        if option.get("value") == value:
            return dict(option)
    if element["type"].endswith("external_select"):
        return {"text": {"type": "plain_text", "text": value}, "value": value}
    raise ValueError(f"{element.get('action_id')} has no option with value {value!r}")


def _chosen(element: JsonDict, answer: Answer) -> JsonDict:
    """An element's entry in ``state.values`` (and in an action) for a person's answer."""
    kind = element["type"]
    chosen: JsonDict = {"type": kind}
    if kind in _TEXT_INPUTS:
        chosen["value"] = answer
    elif kind in _ONE_OPTION or kind == "external_select":
        chosen["selected_option"] = None if answer is None else _pick(element, str(answer))
    elif kind in _MANY_OPTIONS or kind == "multi_external_select":
        answers = [answer] if isinstance(answer, str) else list(answer or [])
        chosen["selected_options"] = [_pick(element, a) for a in answers]
    elif kind in _PICKERS:
        chosen[_PICKERS[kind]] = answer
    elif kind != "button":
        raise ValueError(f"cannot answer a {kind} element")
    return chosen


def _initial(element: JsonDict) -> Answer:
    """What an untouched element submits: its initial value or option, as Slack does."""
    if "initial_value" in element:
        return str(element["initial_value"])
    if "initial_option" in element:
        return str(element["initial_option"]["value"])
    return None


def state_values(view: JsonDict, answers: Mapping[str, Answer]) -> JsonDict:
    """A view's ``state.values`` after a person answers inputs (by block id); others as shown."""
    values: JsonDict = {}
    unknown = set(answers)
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        block_id = block["block_id"]
        unknown.discard(block_id)
        answer = answers[block_id] if block_id in answers else _initial(element)
        values[block_id] = {element["action_id"]: _chosen(element, answer)}
    if unknown:
        raise ValueError(f"the view has no input blocks {sorted(unknown)}")
    return values


def element_action(
    blocks: Sequence[JsonDict],
    action_id: str,
    *,
    block_id: str | None = None,
    value: Answer = None,
) -> JsonDict:
    """The ``actions`` entry Slack sends when a person uses the element ``action_id`` in blocks."""
    for found_block_id, element in _walk_elements(blocks):
        if element.get("action_id") != action_id or block_id not in (None, found_block_id):
            continue
        action = {"action_id": action_id, "block_id": found_block_id, **_chosen(element, value)}
        if element["type"] == "button":
            action |= {"text": element.get("text"), "value": element.get("value")}
            action |= {"style": element["style"]} if "style" in element else {}
        return action | {"action_ts": f"{time.time():.6f}"}
    raise ValueError(f"no element with action_id {action_id!r} in these blocks")


def full_view(view: JsonDict, *, team_id: str = TEAM_ID) -> JsonDict:
    """A view as Slack shows it to the bot: the stand-in's view as is, a payload filled in."""
    view_id = view.get("id") or random_id("V")
    defaults: JsonDict = {
        "id": view_id,
        "team_id": team_id,
        "private_metadata": "",
        "callback_id": "",
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "clear_on_close": False,
        "notify_on_close": False,
        "external_id": "",
        "root_view_id": view_id,
        "previous_view_id": None,
        "app_id": APP_ID,
        "app_installed_team_id": team_id,
        "bot_id": bot_id_for(team_id),
    }
    return defaults | view


def block_actions_payload(
    action: JsonDict,
    *,
    user_id: str,
    view: JsonDict | None = None,
    channel_id: str | None = None,
    message: JsonDict | None = None,
    values: JsonDict | None = None,
    team_id: str = TEAM_ID,
    user_name: str | None = None,
    trigger_id: str | None = None,
    response_url: str | None = None,
) -> JsonDict:
    """A block_actions payload from a view (modal or App Home) or from a channel message."""
    payload = _common("block_actions", user_id=user_id, team_id=team_id, user_name=user_name)
    payload["trigger_id"] = trigger_id or new_trigger_id()
    if view is not None:
        shown = full_view(view, team_id=team_id)
        if values is not None:
            shown["state"] = {"values": values}
        payload["container"] = {"type": "view", "view_id": shown["id"]}
        payload["view"] = shown
    elif channel_id is not None and message is not None:
        payload["container"] = {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": f"channel-{channel_id.lower()}"}
        payload["message"] = message
        payload["state"] = {"values": values or {}}
        payload["response_url"] = response_url or f"https://hooks.slack.com/actions/{team_id}/1/ab"
    else:
        raise ValueError("a block_actions payload needs a view, or a channel_id and a message")
    payload["actions"] = [action]
    return payload


def view_submission_payload(
    view: JsonDict,
    values: JsonDict,
    *,
    user_id: str,
    team_id: str = TEAM_ID,
    user_name: str | None = None,
    trigger_id: str | None = None,
) -> JsonDict:
    """A view_submission payload: the view as shown, with the person's ``state.values``."""
    payload = _common("view_submission", user_id=user_id, team_id=team_id, user_name=user_name)
    shown = full_view(view, team_id=team_id)
    shown["state"] = {"values": values}
    return payload | {
        "trigger_id": trigger_id or new_trigger_id(),
        "view": shown,
        "response_urls": [],
    }


def view_closed_payload(
    view: JsonDict,
    *,
    user_id: str,
    team_id: str = TEAM_ID,
    user_name: str | None = None,
    is_cleared: bool = False,
) -> JsonDict:
    """A view_closed payload (sent only for views opened with ``notify_on_close``)."""
    payload = _common("view_closed", user_id=user_id, team_id=team_id, user_name=user_name)
    return payload | {"view": full_view(view, team_id=team_id), "is_cleared": is_cleared}


def event_callback(
    event: JsonDict, *, team_id: str = TEAM_ID, event_id: str | None = None
) -> JsonDict:
    """An Events API envelope around one event."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or random_id("Ev"),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id_for(team_id),
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def app_home_opened_payload(
    *,
    user_id: str,
    team_id: str = TEAM_ID,
    channel: str = "D0LAN2Q65",
    tab: str = "home",
    view: JsonDict | None = None,
    event_id: str | None = None,
) -> JsonDict:
    """An app_home_opened event callback; ``view`` is the Home page published before, if any."""
    event: JsonDict = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel,
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    if view is not None:
        event["view"] = view
    return event_callback(event, team_id=team_id, event_id=event_id)


def member_joined_channel_payload(
    *,
    channel: str,
    user_id: str | None = None,
    inviter: str | None = None,
    channel_type: str = "C",
    team_id: str = TEAM_ID,
    event_id: str | None = None,
) -> JsonDict:
    """A member_joined_channel event callback: `user_id` (the bot, by default) joined `channel`,
    invited by `inviter` if given."""
    event: JsonDict = {
        "type": "member_joined_channel",
        "user": user_id or bot_user_id_for(team_id),
        "channel": channel,
        "channel_type": channel_type,
        "team": team_id,
        "event_ts": f"{time.time():.6f}",
    }
    if inviter is not None:
        event["inviter"] = inviter
    return event_callback(event, team_id=team_id, event_id=event_id)


def app_uninstalled_payload(*, team_id: str = TEAM_ID, event_id: str | None = None) -> JsonDict:
    """An app_uninstalled event callback: the app was removed from the workspace ``team_id``."""
    return event_callback({"type": "app_uninstalled"}, team_id=team_id, event_id=event_id)


def tokens_revoked_payload(
    *,
    team_id: str = TEAM_ID,
    bot: Sequence[str] | None = None,
    oauth: Sequence[str] = (),
    event_id: str | None = None,
) -> JsonDict:
    """A tokens_revoked event callback: the user ids whose tokens went, by kind (``bot``: the
    app's bot user in ``team_id`` by default; ``oauth``: user tokens, none by default)."""
    bots = [bot_user_id_for(team_id)] if bot is None else list(bot)
    tokens: JsonDict = {"oauth": list(oauth), "bot": bots}
    event: JsonDict = {"type": "tokens_revoked", "tokens": tokens}
    return event_callback(event, team_id=team_id, event_id=event_id)
