"""The stand-in's own HTTP API under ``/_standin/``: inspection, workspaces, installs and faults
for other processes. A workspace is named by ``team`` (query or body; the default one if absent)."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs

from sandbox.slack.standin import SlackStandIn
from sandbox.slack.state import ApiError
from sandbox.slack.workspace import TEAM_ID, JsonDict

Answer = tuple[int, JsonDict]
Route = Callable[[SlackStandIn, dict[str, str], JsonDict], Answer]


def _found(key: str, value: JsonDict | None) -> Answer:
    return (200, {key: value}) if value is not None else (404, {"error": "not_found"})


def _team(q: dict[str, str]) -> str:
    return q.get("team") or TEAM_ID


def _wait(s: SlackStandIn, q: dict[str, str], _: JsonDict) -> Answer:
    method, count, timeout = q["method"], int(q.get("count", 1)), float(q.get("timeout", 5))
    team = q.get("team")
    try:
        calls = s.wait_for(method, count=count, timeout=timeout, team=team)
    except TimeoutError as exc:
        return 408, {"error": str(exc), "calls": [c.to_json() for c in s.calls(method, team=team)]}
    return 200, {"calls": [c.to_json() for c in calls]}


def _add_workspace(s: SlackStandIn, _: dict[str, str], b: JsonDict) -> Answer:
    team = s.add_workspace(b["id"], name=b.get("name"), domain=b.get("domain"))
    return 200, {"team": team.to_json()}


def _reset(s: SlackStandIn, _: dict[str, str], __: JsonDict) -> Answer:
    s.reset()
    return 200, {}


def _fault_error(s: SlackStandIn, _: dict[str, str], b: JsonDict) -> Answer:
    s.fail_next(b["method"], error=b["error"], times=b.get("times", 1), status=b.get("status", 200))
    return 200, {}


def _fault_ratelimit(s: SlackStandIn, _: dict[str, str], b: JsonDict) -> Answer:
    s.rate_limit_next(b["method"], times=b.get("times", 1), retry_after=b.get("retry_after", 1))
    return 200, {}


def _fault_window(s: SlackStandIn, _: dict[str, str], b: JsonDict) -> Answer:
    s.rate_limit_for(b["method"], seconds=b["seconds"], retry_after=b.get("retry_after"))
    return 200, {}


def _fault_late(s: SlackStandIn, _: dict[str, str], b: JsonDict) -> Answer:
    s.answer_late(b["method"], seconds=b["seconds"], times=b.get("times", 1))
    return 200, {}


def _fault_drop(s: SlackStandIn, _: dict[str, str], b: JsonDict) -> Answer:
    s.drop_answer(b["method"], times=b.get("times", 1))
    return 200, {}


def _rate_limit(s: SlackStandIn, _: dict[str, str], b: JsonDict) -> Answer:
    method = b.get("method", "chat.postMessage")
    if b.get("enabled", True):
        s.limit_rate(method=method, per_second=b.get("per_second", 1.0), burst=b.get("burst", 1))
    else:
        s.unlimit_rate(method=method)
    return 200, {}


def _channel(s: SlackStandIn, _: dict[str, str], b: JsonDict) -> Answer:
    s.add_channel(
        b["id"],
        name=b.get("name"),
        is_private=b.get("is_private", False),
        is_archived=b.get("is_archived", False),
        members=b.get("members"),
        bot_member=b.get("bot_member", True),
        team=b.get("team") or TEAM_ID,
    )
    return 200, {}


def _invite_bot(s: SlackStandIn, _: dict[str, str], b: JsonDict) -> Answer:
    s.invite_bot(b["channel"], member=b.get("member", True), team=b.get("team") or TEAM_ID)
    return 200, {}


def _user(s: SlackStandIn, _: dict[str, str], b: JsonDict) -> Answer:
    s.add_user(
        b["id"],
        name=b.get("name"),
        real_name=b.get("real_name"),
        is_admin=b.get("is_admin", False),
        is_bot=b.get("is_bot", False),
        deleted=b.get("deleted", False),
        team=b.get("team") or TEAM_ID,
    )
    return 200, {}


def _calls(s: SlackStandIn, q: dict[str, str], _: JsonDict) -> Answer:
    return 200, {"calls": [c.to_json() for c in s.calls(q.get("method"), team=q.get("team"))]}


def _replies(s: SlackStandIn, q: dict[str, str], _: JsonDict) -> Answer:
    return 200, {"replies": s.replies(q["channel"], q["thread_ts"], team=_team(q))}


GET: dict[str, Route] = {
    "calls": _calls,
    "wait": _wait,
    "messages": lambda s, q, _: (200, {"messages": s.messages(q["channel"], team=_team(q))}),
    "replies": _replies,
    "message": lambda s, q, _: _found("message", s.message(q["channel"], q["ts"], team=_team(q))),
    "ephemerals": lambda s, q, _: (
        200,
        {"ephemerals": s.ephemerals(q.get("channel"), team=_team(q))},
    ),
    "views": lambda s, q, _: (200, {"views": s.views(team=_team(q))}),
    "home": lambda s, q, _: _found("view", s.home_view(q["user"], team=_team(q))),
    "dms": lambda s, q, _: (200, {"messages": s.direct_messages(q["user"], team=_team(q))}),
    "workspaces": lambda s, q, _: (200, {"teams": [t.to_json() for t in s.teams()]}),
    "team": lambda s, q, _: (200, {"team": s.team(_team(q)).to_json()}),
    "tokens": lambda s, q, _: (200, {"tokens": s.tokens(_team(q))}),
}
POST: dict[str, Route] = {
    "reset": _reset,
    "trigger_id": lambda s, q, _: (200, {"trigger_id": s.new_trigger_id(team=_team(q))}),
    "workspaces": _add_workspace,
    "install": lambda s, q, b: (200, {"token": s.install(b.get("team") or TEAM_ID)}),
    "revoke_tokens": lambda s, q, b: (200, {"revoked": s.revoke_tokens(b["team"])}),
    "uninstall": lambda s, q, b: (200, {"revoked": s.uninstall(b["team"])}),
    "faults/error": _fault_error,
    "faults/ratelimit": _fault_ratelimit,
    "faults/window": _fault_window,
    "faults/late": _fault_late,
    "faults/drop": _fault_drop,
    "rate_limit": _rate_limit,
    "channels": _channel,
    "invite_bot": _invite_bot,
    "users": _user,
}


def _view_route(s: SlackStandIn, verb: str, path: str, body: JsonDict, team: str) -> Answer | None:
    """``GET views/<id>``, ``POST views/<id>/close``, ``POST views/<id>/response``."""
    parts = path.split("/")
    if len(parts) == 2 and verb == "GET":
        return _found("view", s.view(parts[1], team=team))
    if len(parts) == 3 and verb == "POST" and parts[2] == "close":
        return 200, {"closed": s.close_view(parts[1], team=team)}
    if len(parts) == 3 and verb == "POST" and parts[2] == "response":
        try:
            return 200, {"view": s.apply_view_response(parts[1], body or None, team=team)}
        except ApiError as exc:
            return 400, exc.body()
    return None


def route(s: SlackStandIn, verb: str, path: str, query: str, raw: bytes) -> Answer:
    """Answer a request to ``/_standin/<path>``: status and JSON body."""
    q = {k: v[-1] for k, v in parse_qs(query).items()}
    try:
        body = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        return 400, {"error": f"invalid JSON body: {exc.msg}"}
    if not isinstance(body, dict):
        return 400, {"error": "the body must be a JSON object"}
    try:
        if path.startswith("views/"):
            answer = _view_route(s, verb, path, body, _team(q))
            return answer if answer is not None else (404, {"error": "no such route"})
        table = GET if verb == "GET" else POST
        if path not in table:
            return 404, {"error": "no such route"}
        return table[path](s, q, body)
    except KeyError as exc:
        return 400, {"error": f"missing field: {exc.args[0]}"}
    except (TypeError, ValueError) as exc:
        return 400, {"error": str(exc)}
