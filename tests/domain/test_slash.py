"""The command table and its parser, without Slack: every verb, argument and usage error."""

from __future__ import annotations

import pytest

from bot.domain import rules
from bot.domain.entities import Project
from bot.domain.errors import InvalidInput, NotFound
from bot.domain.slash import (
    COMMAND,
    SUBCOMMANDS,
    Arg,
    SlashCommand,
    Verb,
    parse,
    subcommand,
    usage_hint,
)
from bot.domain.states import Action, Role
from bot.domain.validation import ID_MAX

TAKES_ID = [s.verb.value for s in SUBCOMMANDS if s.arg is Arg.ENDPOINT_ID]
TAKES_CLUSTER = [s.verb.value for s in SUBCOMMANDS if s.arg is Arg.CLUSTER]
TAKES_NOTHING = [s.verb.value for s in SUBCOMMANDS if s.arg is Arg.NONE]


def test_the_table_declares_every_verb_once_in_the_enums_order() -> None:
    assert [s.verb for s in SUBCOMMANDS] == list(Verb)
    assert all(s.help and not s.help.endswith(".") for s in SUBCOMMANDS)


def test_each_kind_of_argument_is_used() -> None:
    assert TAKES_ID and TAKES_CLUSTER and TAKES_NOTHING
    assert {"edit", "terminate"} <= set(TAKES_ID)
    assert {"create", "connect"} <= set(TAKES_CLUSTER)


def test_the_usage_hint_lists_the_table_in_order() -> None:
    assert usage_hint() == (
        "create [cluster] | list | status <id> | doctor <id> | edit <id> | terminate <id>"
        " | connect [cluster] | billing | help"
    )
    assert usage_hint().split(" | ") == [s.usage for s in SUBCOMMANDS]


def test_who_may_agrees_with_the_rules() -> None:
    """A verb that is also an action of the rules: members may use it exactly when the table
    says members too (the services enforce the rules; the help shows the table)."""
    project = Project(id=1, name="payments", channel_id="C1", owners=frozenset({"U0OWNER"}))
    actions = {a.value: a for a in Action}
    checked = 0
    for row in SUBCOMMANDS:
        if row.verb.value in actions:
            member_may = rules.may(project, "U0MEMBER", actions[row.verb.value])
            assert member_may == (row.who is Role.MEMBER), row.verb
            assert rules.may(project, "U0OWNER", actions[row.verb.value])
            checked += 1
    assert checked >= 6


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP me", "frobnicate", "créer x"])
def test_empty_or_unknown_text_is_help(text: str) -> None:
    assert parse(text) == SlashCommand(Verb.HELP)


@pytest.mark.parametrize("verb", TAKES_NOTHING)
def test_a_verb_without_argument_ignores_what_follows(verb: str) -> None:
    assert parse(verb) == SlashCommand(Verb(verb))
    assert parse(f"  {verb.upper()}  and more words ") == SlashCommand(Verb(verb))


@pytest.mark.parametrize("verb", TAKES_CLUSTER)
def test_a_cluster_is_optional(verb: str) -> None:
    assert parse(verb) == SlashCommand(Verb(verb))
    assert parse(f"{verb} orders") == SlashCommand(Verb(verb), cluster="orders")


@pytest.mark.parametrize("verb", TAKES_CLUSTER)
def test_two_clusters_or_a_bad_name_are_refused(verb: str) -> None:
    with pytest.raises(InvalidInput) as two:
        parse(f"{verb} orders ledger")
    assert str(two.value) == f"Usage: {COMMAND} {verb} [cluster]."
    with pytest.raises(InvalidInput, match="not a valid cluster name"):
        parse(f"{verb} Bad;Name")


@pytest.mark.parametrize("verb", TAKES_ID)
@pytest.mark.parametrize(("typed", "endpoint_id"), [("7", 7), ("#7", 7), (str(ID_MAX), ID_MAX)])
def test_an_endpoint_id_with_or_without_its_hash(verb: str, typed: str, endpoint_id: int) -> None:
    assert parse(f"{verb} {typed}") == SlashCommand(Verb(verb), endpoint_id=endpoint_id)


@pytest.mark.parametrize("verb", TAKES_ID)
@pytest.mark.parametrize(
    "rest", ["", "#0", "0", "abc", "#", "-1", "1.5", "7 8", "#7 #8", "1" * 19, "٣"]
)
def test_a_missing_or_malformed_id_gets_the_usage(verb: str, rest: str) -> None:
    with pytest.raises(InvalidInput) as error:
        parse(f"{verb} {rest}")
    assert str(error.value) == (
        f"Usage: {COMMAND} {verb} <id>, with the endpoint's number from `{COMMAND} list`."
    )
    assert error.value.field == "endpoint_id"


@pytest.mark.parametrize("verb", TAKES_ID)
@pytest.mark.parametrize("endpoint_id", [ID_MAX + 1, 2**31, 999_999_999_999_999_999])
def test_an_id_past_any_the_database_holds_is_not_found(verb: str, endpoint_id: int) -> None:
    with pytest.raises(NotFound) as error:
        parse(f"{verb} {endpoint_id}")
    assert str(error.value) == f"There is no private endpoint #{endpoint_id} in this project."


def test_each_verb_finds_its_row() -> None:
    for row in SUBCOMMANDS:
        assert subcommand(row.verb) is row
    assert parse("edit 3").subcommand.opens_view
    assert parse("create").subcommand.opens_view
    assert not parse("terminate 3").subcommand.opens_view
    assert parse("terminate 3").subcommand.owners_only
    assert not parse("list").subcommand.owners_only
    assert parse("doctor 3").subcommand.reads_aws
    assert not parse("doctor 3").subcommand.owners_only
    assert not parse("status 3").subcommand.reads_aws
