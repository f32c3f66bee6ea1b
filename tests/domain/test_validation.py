"""Validators accept every well-formed value and refuse everything else (hypothesis)."""

from __future__ import annotations

import re
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import commands, validation
from bot.domain.errors import InvalidInput
from tests.domain.helpers import parse_az_id

HEX = "0123456789abcdef"
hex_id = st.one_of(st.text(HEX, min_size=8, max_size=8), st.text(HEX, min_size=17, max_size=17))
vpc_ids = hex_id.map(lambda h: f"vpc-{h}")
subnet_ids = hex_id.map(lambda h: f"subnet-{h}")
vpce_ids = hex_id.map(lambda h: f"vpce-{h}")
regions = st.builds(
    lambda area, direction, n: f"{area}-{direction}-{n}",
    st.sampled_from(["us", "eu", "ap", "ca", "sa", "me", "af", "il", "mx"]),
    st.sampled_from(["east", "west", "central", "north", "south", "southeast", "northeast"]),
    st.integers(1, 9),
)
accounts = st.text("0123456789", min_size=12, max_size=12)
service_names = st.builds(
    lambda region, h: f"com.amazonaws.vpce.{region}.vpce-svc-{h}",
    regions,
    st.text(HEX, min_size=17, max_size=17),
)

# Characters that must never pass: shell metacharacters, whitespace tricks, look-alikes.
HOSTILE = [
    ";",
    "&",
    "|",
    "$",
    "`",
    "'",
    '"',
    "\\",
    "<",
    ">",
    "(",
    ")",
    "*",
    "?",
    "{",
    "}",
    "#",
    " ",
    "\t",
    "\n",
    "\r",
    "\x00",
    "\u00a0",
    "\u200b",
    "\u2028",
    "\ufeff",
    "\u0430",  # Cyrillic a
    "\u0435",  # Cyrillic e
    "\u0441",  # Cyrillic c
    "\uff10",  # fullwidth 0
    "\u0661",  # Arabic-Indic 1
    "\u2010",  # hyphen
    "\u2212",  # minus
    "A",
    "G",
    "_",
    ".",
]
PARSERS = [
    (validation.parse_vpc_id, vpc_ids),
    (validation.parse_vpce_id, vpce_ids),
    (validation.parse_region, regions),
    (validation.parse_account_id, accounts),
]


@pytest.mark.parametrize(("parse", "values"), PARSERS)
def test_accepts_well_formed(parse, values) -> None:  # type: ignore[no-untyped-def]
    @given(values, st.sampled_from(["", " ", "\t", "\n", "  \r\n"]))
    def check(value: str, padding: str) -> None:
        assert parse(padding + value + padding) == value

    check()


@pytest.mark.parametrize(("parse", "values"), PARSERS)
def test_refuses_any_inserted_hostile_character(parse, values) -> None:  # type: ignore[no-untyped-def]
    @given(values, st.sampled_from(HOSTILE), st.integers(min_value=1))
    def check(value: str, bad: str, where: int) -> None:
        position = 1 + where % (len(value) - 1)  # strictly inside the value
        tampered = value[:position] + bad + value[position:]
        with pytest.raises(InvalidInput):
            parse(tampered)

    check()


@pytest.mark.parametrize(("parse", "values"), PARSERS)
def test_refuses_any_replaced_character_with_a_lookalike(parse, values) -> None:  # type: ignore[no-untyped-def]
    lookalikes = {
        "a": "\u0430",
        "e": "\u0435",
        "c": "\u0441",
        "0": "\uff10",
        "1": "\u0661",
        "-": "\u2010",
        "p": "\u0440",
        "o": "\u043e",
    }

    @given(values, st.data())
    def check(value: str, data: st.DataObject) -> None:
        spots = [i for i, ch in enumerate(value) if ch in lookalikes]
        if not spots:
            return
        i = data.draw(st.sampled_from(spots))
        with pytest.raises(InvalidInput):
            parse(value[:i] + lookalikes[value[i]] + value[i + 1 :])

    check()


@given(st.text(max_size=40))
def test_anything_accepted_is_plain_ascii_and_canonical(text: str) -> None:
    for parse, pattern in [
        (validation.parse_vpc_id, r"vpc-[0-9a-f]{8}([0-9a-f]{9})?"),
        (validation.parse_vpce_id, r"vpce-[0-9a-f]{8}([0-9a-f]{9})?"),
        (validation.parse_account_id, r"[0-9]{12}"),
        (validation.parse_name, r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"),
    ]:
        try:
            value = parse(text)
        except InvalidInput:
            continue
        assert re.fullmatch(pattern, value, re.ASCII)


def test_wrong_lengths_and_prefixes() -> None:
    for bad in [
        "vpc-0123456",
        "vpc-0123456789abcdef",
        "vpc-0123456789abcdef01",
        "vpc_01234567",
        "VPC-01234567",
        "vpc-0123456G",
        "subnet-01234567",
        "",
        "   ",
    ]:
        with pytest.raises(InvalidInput):
            validation.parse_vpc_id(bad)
    for bad in ["12345678901", "1234567890123", "12345678901a", "1234 5678 9012"]:
        with pytest.raises(InvalidInput):
            validation.parse_account_id(bad)
    assert validation.parse_account_id("1234-5678-9012") == "123456789012"


def test_error_names_the_field_and_shows_invisible_characters() -> None:
    with pytest.raises(InvalidInput) as caught:
        validation.parse_vpc_id("vpc-0123\u200b4567")
    assert caught.value.field == "vpc_id"
    assert "\\u200b" in caught.value.message


class TestSubnets:
    @given(st.lists(subnet_ids, min_size=1, max_size=6), st.sampled_from([" ", ",", ", ", "\n"]))
    def test_split_dedupe_keep_order(self, ids: list[str], sep: str) -> None:
        text = sep.join(ids + ids)
        assert validation.parse_subnet_ids(text) == tuple(dict.fromkeys(ids))

    def test_needs_at_least_one(self) -> None:
        with pytest.raises(InvalidInput, match="at least one"):
            validation.parse_subnet_ids(" , ")

    def test_one_bad_id_refuses_all(self) -> None:
        with pytest.raises(InvalidInput, match="subnet"):
            validation.parse_subnet_ids("subnet-01234567 subnet-0123;rm")

    def test_too_many(self) -> None:
        ids = " ".join(f"subnet-{i:08x}" for i in range(validation.MAX_SUBNETS + 1))
        with pytest.raises(InvalidInput, match="at most"):
            validation.parse_subnet_ids(ids)


def test_az_ids() -> None:
    for good in ["usw2-az1", "use1-az6", "apse2-az3", "euc1-az2", "usgw1-az1"]:
        assert parse_az_id(good) == good
    for bad in ["us-west-2a", "usw2-az", "usw2az1", "usw2-az1;"]:
        with pytest.raises(InvalidInput):
            parse_az_id(bad)


def test_names() -> None:
    assert validation.parse_name("orders-eu1") == "orders-eu1"
    for bad in ["-orders", "orders-", "Orders", "or ders", "a" * 64, "ordérs", ""]:
        with pytest.raises(InvalidInput):
            validation.parse_name(bad)


def test_nlb_arn_must_be_in_the_cluster_region() -> None:
    arn = (
        "arn:aws:elasticloadbalancing:us-west-2:123456789012"
        ":loadbalancer/net/orders/0123456789abcdef"
    )
    assert validation.parse_nlb_arn(arn, region="us-west-2") == arn
    with pytest.raises(InvalidInput, match="us-west-2"):
        validation.parse_nlb_arn(arn, region="eu-west-1")
    with pytest.raises(InvalidInput):
        validation.parse_nlb_arn(arn.replace("/net/", "/app/"), region="us-west-2")


class TestCommands:
    @given(vpc_ids, regions, st.data(), st.lists(subnet_ids, min_size=1, max_size=4, unique=True))
    def test_create_round_trips_through_shlex(
        self, vpc: str, region: str, data: st.DataObject, subnets: list[str]
    ) -> None:
        suffix = data.draw(st.text(HEX, min_size=17, max_size=17))
        service = f"com.amazonaws.vpce.{region}.vpce-svc-{suffix}"
        line = commands.create_endpoint_command(
            vpc_id=vpc, region=region, service_name=service, subnet_ids=subnets
        )
        assert shlex.split(line) == [
            "aws",
            "ec2",
            "create-vpc-endpoint",
            "--vpc-id",
            vpc,
            "--region",
            region,
            "--service-name",
            service,
            "--vpc-endpoint-type",
            "Interface",
            "--subnet-ids",
            *subnets,
        ]

    @given(vpce_ids, regions)
    def test_modify_round_trips_through_shlex(self, vpce: str, region: str) -> None:
        line = commands.modify_endpoint_command(vpce_id=vpce, region=region)
        assert shlex.split(line) == [
            "aws",
            "ec2",
            "modify-vpc-endpoint",
            "--vpc-endpoint-id",
            vpce,
            "--region",
            region,
            "--private-dns-enabled",
        ]

    @given(st.sampled_from(HOSTILE))
    def test_hostile_values_never_reach_a_command(self, bad: str) -> None:
        with pytest.raises(InvalidInput):
            commands.create_endpoint_command(
                vpc_id=f"vpc-0123{bad}4567",
                region="us-west-2",
                service_name="com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0",
                subnet_ids=["subnet-01234567"],
            )
        with pytest.raises(InvalidInput):
            commands.modify_endpoint_command(vpce_id="vpce-01234567", region=f"us-we{bad}st-2")
