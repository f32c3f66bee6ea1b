"""`/private-endpoint`: its subcommands, declared once, and the parsing of what a person types.

`SUBCOMMANDS` is the one list to extend. Each row names a verb, the argument it takes, the least
role that may use it, its help line, whether its answer is a modal and whether it reads AWS
(then it follows the ack). Everything else reads the table: the parser and its usage errors
(below), the help reply (`bot/slack/views/messages.py`), the listener's dispatch and which
answers come after the ack (`bot/slack/listeners/commands.py`), and the manifest's usage
hint (`usage_hint`, which a test holds `bot/manifest.yml` to). Who may use a subcommand is
enforced by the services through `rules.authorize`; a test holds the table and the rules to
the same answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import InvalidInput, NotFound
from bot.domain.states import Role
from bot.domain.validation import ID_MAX, parse_name

COMMAND = "/private-endpoint"


class Verb(StrEnum):
    """The subcommands' names, in the table's order."""

    CREATE = "create"
    LIST = "list"
    STATUS = "status"
    DOCTOR = "doctor"
    EDIT = "edit"
    TERMINATE = "terminate"
    CONNECT = "connect"
    BILLING = "billing"
    HELP = "help"


class Arg(StrEnum):
    """What a subcommand takes after its verb, written as its usage shows it."""

    NONE = ""
    CLUSTER = "[cluster]"  # an optional cluster name
    ENDPOINT_ID = "<id>"  # a required private endpoint id, `#` optional


@dataclass(frozen=True, slots=True)
class Subcommand:
    """One row of the table: how a subcommand is typed, who may use it, what help says."""

    verb: Verb
    arg: Arg
    who: Role  # the least role that may use it: owners only, or members too
    help: str
    opens_view: bool = False  # its answer is a modal, opened right after the ack
    reads_aws: bool = False  # its answer reads AWS, so it follows the ack (which says so)

    @property
    def usage(self) -> str:
        """How it is typed after the command, e.g. `edit <id>`."""
        return f"{self.verb.value} {self.arg.value}".rstrip()

    @property
    def owners_only(self) -> bool:
        """Whether only the project's owners may use it."""
        return self.who is Role.OWNER


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(Verb.CREATE, Arg.CLUSTER, Role.OWNER, "start the wizard", opens_view=True),
    Subcommand(Verb.LIST, Arg.NONE, Role.MEMBER, "this project's private endpoints"),
    Subcommand(
        Verb.STATUS, Arg.ENDPOINT_ID, Role.MEMBER, "where one endpoint stands, and your next step"
    ),
    Subcommand(
        Verb.DOCTOR,
        Arg.ENDPOINT_ID,
        Role.MEMBER,
        "check one endpoint end to end: what the bot sees, and what to run on your side",
        reads_aws=True,
    ),
    Subcommand(
        Verb.EDIT,
        Arg.ENDPOINT_ID,
        Role.OWNER,
        "resume the wizard where the endpoint stands",
        opens_view=True,
    ),
    Subcommand(Verb.TERMINATE, Arg.ENDPOINT_ID, Role.OWNER, "delete one private endpoint"),
    Subcommand(Verb.CONNECT, Arg.CLUSTER, Role.MEMBER, "connection strings for an active endpoint"),
    Subcommand(Verb.BILLING, Arg.NONE, Role.MEMBER, "this project's monthly estimate"),
    Subcommand(Verb.HELP, Arg.NONE, Role.MEMBER, "this help"),
)

_BY_VERB = {subcommand.verb: subcommand for subcommand in SUBCOMMANDS}


def subcommand(verb: Verb) -> Subcommand:
    """The table's row for `verb`."""
    return _BY_VERB[verb]


def usage_hint() -> str:
    """The manifest's usage hint: every subcommand's usage, in the table's order."""
    return " | ".join(s.usage for s in SUBCOMMANDS)


@dataclass(frozen=True, slots=True)
class SlashCommand:
    """What a person asked for: a verb and its argument, read and bounded."""

    verb: Verb
    cluster: str | None = None
    endpoint_id: int | None = None

    @property
    def subcommand(self) -> Subcommand:
        """The table's row for this command's verb."""
        return _BY_VERB[self.verb]


_ID = re.compile(r"#?([1-9][0-9]{0,17})", re.ASCII)


def parse(text: str) -> SlashCommand:
    """The command a person typed; empty or unknown text means help. Words after a verb that
    takes no argument are ignored."""
    words = text.split()
    try:
        verb = Verb(words[0].lower()) if words else Verb.HELP
    except ValueError:
        return SlashCommand(Verb.HELP)
    found, rest = _BY_VERB[verb], words[1:]
    match found.arg:
        case Arg.ENDPOINT_ID:
            return SlashCommand(verb, endpoint_id=_endpoint_id(found, rest))
        case Arg.CLUSTER:
            return SlashCommand(verb, cluster=_cluster(found, rest))
        case Arg.NONE:
            return SlashCommand(verb)


def _usage(found: Subcommand) -> str:
    return f"Usage: {COMMAND} {found.usage}"


def _endpoint_id(found: Subcommand, rest: list[str]) -> int:
    """The one endpoint id after the verb; an id past any the database holds is not found."""
    match = _ID.fullmatch(rest[0]) if len(rest) == 1 else None
    if match is None:
        raise InvalidInput(
            "endpoint_id",
            f"{_usage(found)}, with the endpoint's number from `{COMMAND} {Verb.LIST.value}`.",
        )
    endpoint_id = int(match.group(1))
    if endpoint_id > ID_MAX:
        raise NotFound(f"There is no private endpoint #{endpoint_id} in this project.")
    return endpoint_id


def _cluster(found: Subcommand, rest: list[str]) -> str | None:
    """The cluster name after the verb, if one is given."""
    if len(rest) > 1:
        raise InvalidInput("cluster", f"{_usage(found)}.")
    return parse_name(rest[0], what="cluster name") if rest else None
