"""What the stand-in records of every call: method, arguments, token, workspace and answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

from sandbox.slack.workspace import JsonDict

SECRET_ARGS = ("client_secret",)  # never recorded, as the token is not


@dataclass(frozen=True)
class Call:
    """One recorded call: method, arguments as parsed (token and client secret left out), time,
    HTTP answer, the token it carried and the workspace it was answered for (None if neither)."""

    method: str
    args: JsonDict
    at: float
    status: int
    response: JsonDict
    token: str | None = None
    team: str | None = None

    @property
    def ok(self) -> bool:
        """Whether Slack answered ``ok: true``."""
        return self.status == 200 and self.response.get("ok") is True

    def to_json(self) -> JsonDict:
        """The call as a JSON object."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: JsonDict) -> Call:
        """A call from its JSON object."""
        return cls(
            data["method"],
            data["args"],
            data["at"],
            data["status"],
            data["response"],
            data.get("token"),
            data.get("team"),
        )


def select(
    calls: Iterable[Call],
    method: str | None = None,
    *,
    team: str | None = None,
    where: Callable[[Call], bool] | None = None,
) -> list[Call]:
    """The calls of one method and of one workspace (each: any if None) matching ``where``."""
    return [
        c
        for c in calls
        if (method is None or c.method == method)
        and (team is None or c.team == team)
        and (where is None or where(c))
    ]
