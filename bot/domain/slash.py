"""Parsing the text of `/private-endpoint`: a verb and its argument."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import InvalidInput, NotFound
from bot.domain.validation import ID_MAX, parse_name


class Verb(StrEnum):
    CREATE = "create"
    LIST = "list"
    EDIT = "edit"
    TERMINATE = "terminate"
    CONNECT = "connect"
    BILLING = "billing"
    HELP = "help"


@dataclass(frozen=True, slots=True)
class SlashCommand:
    verb: Verb
    cluster: str | None = None
    endpoint_id: int | None = None


_ID = re.compile(r"#?([1-9][0-9]{0,17})", re.ASCII)


def parse(text: str) -> SlashCommand:
    """The command a person typed; empty or unknown text means help."""
    words = text.split()
    if not words:
        return SlashCommand(Verb.HELP)
    try:
        verb = Verb(words[0].lower())
    except ValueError:
        return SlashCommand(Verb.HELP)
    rest = words[1:]
    if verb in (Verb.EDIT, Verb.TERMINATE):
        match = _ID.fullmatch(rest[0]) if len(rest) == 1 else None
        if match is None:
            raise InvalidInput(
                "endpoint_id",
                f"Usage: /private-endpoint {verb.value} <id>, with "
                "the endpoint's number from `/private-endpoint list`.",
            )
        endpoint_id = int(match.group(1))
        if endpoint_id > ID_MAX:
            raise NotFound(f"There is no private endpoint #{endpoint_id} in this project.")
        return SlashCommand(verb, endpoint_id=endpoint_id)
    if verb in (Verb.CREATE, Verb.CONNECT):
        if len(rest) > 1:
            raise InvalidInput("cluster", f"Usage: /private-endpoint {verb.value} [cluster].")
        return SlashCommand(
            verb, cluster=parse_name(rest[0], what="cluster name") if rest else None
        )
    return SlashCommand(verb)
