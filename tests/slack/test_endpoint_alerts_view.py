"""The replies of the alerts the worker raises about an endpoint: every kind has its words, the
stuck reminder mentions the creator and says what to do next for its status; the cluster's
targets down or back say whether clients can reach it, and an Active endpoint's message shows it
while they cannot; within Block Kit's limits whatever the names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.alerts import AlertKind
from bot.notices.endpoint_alerts import EndpointAlert
from bot.notices.registry import read_notice
from bot.slack import renderers
from bot.slack.views.alerts import parent_message
from bot.slack.views.endpoint_alerts import WORDS, alert_reply, waited
from tests.slack.test_alerts_view import all_text, assert_valid, snapshot

SINCE = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
VPCE = "vpce-0123456789abcdef0"


def stuck(after: timedelta = timedelta(days=2, hours=3), **changes: Any) -> EndpointAlert:
    return EndpointAlert(
        alert=AlertKind.STUCK, since=SINCE, at=SINCE + after, endpoint=snapshot(**changes)
    )


def test_every_alert_kind_has_its_words() -> None:
    assert set(WORDS) == set(AlertKind)


def test_the_notice_reads_back_and_renders_in_the_endpoints_thread() -> None:
    notice = stuck()
    assert read_notice(notice.KIND, notice.model_dump(mode="json")) == notice
    assert notice.thread_key == "endpoint:12"
    assert renderers.parent(notice) == parent_message(notice.endpoint)
    assert renderers.reply(notice) == alert_reply(notice)
    assert not notice.broadcast


def test_stuck_initiating_mentions_the_creator_and_how_to_go_on() -> None:
    message = alert_reply(stuck(status="initiating", vpce_id=None))
    assert_valid(message)
    shown = all_text(message)
    assert message["text"].startswith("<@U0OWNER1>, private endpoint #12 to orders")
    assert "has been initiating for 2 days" in message["text"]
    assert "has been *initiating* for 2 days" in shown
    assert f"<!date^{int(SINCE.timestamp())}^" in shown and "2026-12-01 09:30 UTC" in shown
    assert "waiting for your interface endpoint" in shown
    assert "create the interface endpoint in your VPC with the command the wizard shows" in shown
    assert "`/private-endpoint edit 12`" in shown
    assert "`/private-endpoint terminate 12`" in shown


def test_stuck_initiating_with_a_vpce_names_it() -> None:
    message = alert_reply(stuck(status="initiating", vpce_id=VPCE))
    assert_valid(message)
    assert f"no connection request from `{VPCE}`" in all_text(message)


def test_stuck_pending_says_to_turn_private_dns_on_and_finish_the_wizard() -> None:
    message = alert_reply(stuck(status="pending", stage="enable_private_dns", vpce_id=VPCE))
    assert_valid(message)
    shown = all_text(message)
    assert "has been *pending*" in shown and "private DNS is not on" in shown
    assert "press *Create* in the wizard: `/private-endpoint edit 12`" in shown
    command = f"aws ec2 modify-vpc-endpoint --vpc-endpoint-id {VPCE} --region us-west-2"
    assert command in shown and "--private-dns-enabled" in shown


def test_stuck_pending_after_create_says_to_check_the_endpoint() -> None:
    message = alert_reply(stuck(status="pending", stage="done", vpce_id=VPCE))
    assert_valid(message)
    shown = all_text(message)
    assert "AWS does not report your endpoint available yet" in shown
    assert "check that private DNS is on" in shown and "--private-dns-enabled" in shown


def test_an_unsafe_vpce_is_not_put_in_a_command() -> None:
    message = alert_reply(stuck(status="pending", vpce_id="vpce-x; rm -rf /"))
    assert_valid(message)
    assert "modify-vpc-endpoint" not in all_text(message)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (59, "less than a minute"),
        (60, "1 minute"),
        (3599, "59 minutes"),
        (7200, "2 hours"),
        (86400, "1 day"),
        (86400 * 3 + 7200, "3 days"),
    ],
)
def test_a_wait_is_said_in_its_largest_unit(seconds: float, words: str) -> None:
    assert waited(seconds) == words


@given(
    cluster=st.text(min_size=1, max_size=300),
    created_by=st.text(min_size=1, max_size=40),
    status=st.sampled_from(["initiating", "pending"]),
    hours=st.integers(min_value=0, max_value=24 * 3650),
)
def test_any_names_stay_within_block_kit_limits(
    cluster: str, created_by: str, status: str, hours: int
) -> None:
    message = alert_reply(
        stuck(timedelta(hours=hours), cluster=cluster, created_by=created_by, status=status)
    )
    assert_valid(message)


def test_names_cannot_ping_the_channel() -> None:
    message = alert_reply(stuck(cluster="<!channel> & co", created_by="<!here>"))
    assert "<!channel>" not in str(message) and "<!here>" not in str(message)
    assert "&lt;!channel&gt; &amp; co" in all_text(message)


STOPPED = "i-0abc:4000 is unused: Target is in the stopped state"


def targets(kind: AlertKind, healthy: int, total: int, **changes: Any) -> EndpointAlert:
    """An alert about the targets behind an Active endpoint's cluster."""
    down = kind is AlertKind.TARGETS_DOWN
    reason = STOPPED if down else None
    shown = {"healthy": healthy, "total": total, "reason": reason, "down": down}
    return EndpointAlert(
        broadcast=True,
        alert=kind,
        since=SINCE,
        at=SINCE + timedelta(days=3),
        endpoint=snapshot(**({"status": "active", "stage": "done", "targets": shown} | changes)),
    )


def test_targets_down_says_clients_cannot_reach_the_cluster_with_awss_reason() -> None:
    notice = targets(AlertKind.TARGETS_DOWN, 0, 2)
    message = alert_reply(notice)
    assert_valid(message)
    assert message["text"] == (
        f"Private endpoint #12: clients cannot reach orders now: 0 of 2 targets healthy ({STOPPED})"
    )
    shown = all_text(message)
    assert (
        f":warning: Clients cannot reach orders now: 0 of 2 targets healthy ({STOPPED})." in shown
    )
    assert "A reply follows here when one is healthy again" in shown
    assert read_notice(notice.KIND, notice.model_dump(mode="json")) == notice
    parent = renderers.parent(notice)  # the endpoint's message shows it too
    assert_valid(parent)
    assert ":warning: clients cannot reach orders now: 0 of 2 targets healthy" in all_text(parent)


def test_targets_up_says_clients_can_reach_the_cluster_again() -> None:
    message = alert_reply(targets(AlertKind.TARGETS_UP, 1, 1))
    assert_valid(message)
    assert (
        message["text"]
        == "Private endpoint #12: clients can reach orders again: 1 of 1 target healthy"
    )
    assert ":white_check_mark: Clients can reach orders again" in all_text(message)
    assert "cannot reach" not in all_text(
        parent_message(targets(AlertKind.TARGETS_UP, 1, 1).endpoint)
    )


def test_only_an_active_endpoints_message_shows_its_targets_down() -> None:
    down = {"healthy": 0, "total": 2, "reason": STOPPED, "down": True}
    for status in ("pending", "failed", "deleting"):
        assert "cannot reach" not in all_text(parent_message(snapshot(status=status, targets=down)))
    one_read = {"healthy": 0, "total": 2, "reason": STOPPED, "down": False}  # not told yet
    assert "cannot reach" not in all_text(
        parent_message(snapshot(status="active", targets=one_read))
    )


@given(
    cluster=st.text(min_size=1, max_size=300),
    reason=st.text(max_size=5000),
    kind=st.sampled_from([AlertKind.TARGETS_DOWN, AlertKind.TARGETS_UP]),
)
def test_targets_alerts_stay_within_block_kit_limits(
    cluster: str, reason: str, kind: AlertKind
) -> None:
    shown = {"healthy": 0, "total": 3, "reason": reason, "down": True}
    notice = targets(kind, 0, 3, cluster=cluster, targets=shown)
    assert_valid(alert_reply(notice))
    assert_valid(parent_message(notice.endpoint))
