"""The billing estimate and the connection strings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import billing
from bot.domain.connection import Client, connection_string, connection_strings
from bot.domain.errors import InvalidInput


def test_estimate_is_endpoints_times_azs_times_rate_over_730_hours() -> None:
    result = billing.estimate([2, 3])
    assert result.endpoints == 2
    assert result.endpoint_azs == 5
    assert result.monthly_usd == Decimal("36.50")  # 5 x 0.01 x 730
    assert "0.01 per GB" in result.note


def test_estimate_with_another_rate_and_none() -> None:
    assert billing.estimate([1], hourly_rate=Decimal("0.011")).monthly_usd == Decimal("8.03")
    empty = billing.estimate([])
    assert (empty.endpoints, empty.monthly_usd) == (0, Decimal("0.00"))


@given(st.lists(st.integers(1, 6), max_size=50))
def test_estimate_is_linear(azs: list[int]) -> None:
    assert billing.estimate(azs).monthly_usd == Decimal(sum(azs)) * Decimal("7.30")


def test_estimate_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        billing.estimate([0])
    with pytest.raises(ValueError):
        billing.estimate([1], hourly_rate=Decimal("-1"))


HOST = "orders.us-west-2.privatelink.example.com"


def test_every_client_has_a_string_with_host_and_port() -> None:
    strings = connection_strings(host=HOST, port=4000)
    assert [s.client for s in strings] == list(Client)
    for s in strings:
        assert HOST in s.text and "4000" in s.text


def test_exact_forms() -> None:
    assert connection_string(Client.MYSQL_CLI, host=HOST, port=4000).text == (
        f"mysql --connect-timeout 15 -h {HOST} -P 4000 -u root -D test -p"
    )
    assert connection_string(Client.JDBC, host=HOST, port=4000).text == (
        f"jdbc:mysql://{HOST}:4000/test?user=root&password=${{DB_PASSWORD}}"
    )
    assert f'@tcp({HOST}:4000)/test"' in connection_string(Client.GO, host=HOST, port=4000).text
    assert (
        f'host="{HOST}", port=4000' in connection_string(Client.PYTHON, host=HOST, port=4000).text
    )
    assert (
        f'host: "{HOST}", port: 4000' in connection_string(Client.NODEJS, host=HOST, port=4000).text
    )


@pytest.mark.parametrize("host", ["", "orders", "bad host.example.com", "x.example.com;rm -rf"])
def test_bad_hosts_are_refused(host: str) -> None:
    with pytest.raises(InvalidInput):
        connection_string(Client.MYSQL_CLI, host=host, port=4000)


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_bad_ports_are_refused(port: int) -> None:
    with pytest.raises(InvalidInput):
        connection_string(Client.JDBC, host=HOST, port=port)
