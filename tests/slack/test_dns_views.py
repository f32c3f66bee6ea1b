"""The private DNS name's channel thread, the wizard's Enable Private DNS stage and the Active
alert as the name's verification state changes: content and Block Kit validity (pure)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.dns_verification import DnsChange, DnsState
from bot.domain.entities import Cluster, EndpointService, PrivateEndpoint, Project
from bot.domain.states import Cloud, ClusterStatus, EndpointStatus, ServiceStatus, Stage, Tier
from bot.notices.dns_verification import DNS_VERIFICATION, DnsSnapshot, DnsVerification
from bot.notices.registry import KINDS, read_notice
from bot.services.wizard import WizardState
from bot.slack import renderers
from bot.slack.ids import ActionId
from bot.slack.metadata import ServiceRef
from bot.slack.views.alerts import thread_reply
from bot.slack.views.dns_verification import dns_reply
from bot.slack.views.wizard import wizard_view
from tests.slack.checks import check_message, check_view

HOST = "orders.us-west-2.privatelink.example.com"
TXT_NAME = "_3k9x0a1b2c3d4e5f6g7h"
TXT_VALUE = "vpce:AbCdEfGhIjKlMnOpQrSt"
VPCE = "vpce-0f1e2d3c4b5a69788"


def dns(**changes: Any) -> DnsSnapshot:
    base: dict[str, Any] = {
        "service_id": 3,
        "aws_service_id": "vpce-svc-0123456789abcdef0",
        "cluster": "orders",
        "region": "us-west-2",
        "domain": HOST,
        "state": DnsState.PENDING,
        "txt_name": TXT_NAME,
        "txt_value": TXT_VALUE,
        "owners": ("U0OWNER01", "U0OWNER02"),
    }
    return DnsSnapshot.model_validate(base | changes)


def text(message: dict[str, Any]) -> str:
    return json.dumps(message)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_an_unverified_name_asks_the_owners_to_publish_the_record() -> None:
    message = check_message(
        renderers.parent(DnsVerification(change=DnsChange.NEEDS_VERIFICATION, dns=dns()))
    )
    shown = text(message)
    assert message["blocks"][0]["text"]["text"] == (
        "Private DNS for orders (us-west-2) needs verification"
    )
    assert f"```{TXT_NAME}```" in shown and f"```{TXT_VALUE}```" in shown
    assert f"{TXT_NAME}.{HOST}" in shown and "public DNS zone" in shown
    assert "<@U0OWNER01> <@U0OWNER02>" in shown and "Pending verification" in shown
    [verify] = buttons(message)
    assert verify["action_id"] == ActionId.VERIFY_DNS and verify["text"]["text"] == "Verify now"
    assert ServiceRef.model_validate_json(verify["value"]).service_id == 3


def test_while_aws_checks_and_once_verified_there_is_nothing_to_press() -> None:
    checking = check_message(
        renderers.parent(DnsVerification(change=DnsChange.STARTED, dns=dns(state="verifying")))
    )
    assert "is being verified" in text(checking) and "AWS is checking" in text(checking)
    assert buttons(checking) == []
    verified = check_message(
        renderers.parent(DnsVerification(change=DnsChange.VERIFIED, dns=dns(state="verified")))
    )
    assert "is verified" in text(verified) and buttons(verified) == []
    assert TXT_VALUE not in text(verified) and "Only project owners" not in text(verified)


def test_a_failed_check_shows_the_reason_and_verify_again() -> None:
    reason = "AWS could not find a TXT record <x> & y " * 100
    message = check_message(
        renderers.parent(
            DnsVerification(change=DnsChange.FAILED, dns=dns(state="failed", failure_reason=reason))
        )
    )
    assert "The last verification failed" in text(message) and "&lt;x&gt; &amp; y" in text(message)
    assert len(buttons(message)) == 1


def test_a_name_without_its_record_yet_says_so() -> None:
    message = check_message(dns_message_of(dns(txt_name=None, txt_value=None)))
    assert "AWS has not given the TXT record yet" in text(message)


def dns_message_of(snapshot: DnsSnapshot) -> dict[str, Any]:
    return renderers.parent(DnsVerification(change=DnsChange.NEEDS_VERIFICATION, dns=snapshot))


@pytest.mark.parametrize(
    ("change", "state", "actor", "expected"),
    [
        (DnsChange.NEEDS_VERIFICATION, "pendingVerification", None, "is not verified yet"),
        (DnsChange.STARTED, "verifying", "U0OWNER01", "Verification started by <@U0OWNER01>"),
        (DnsChange.STARTED, "verifying", None, "Verification started: AWS is checking"),
        (DnsChange.VERIFIED, "verified", None, f"Verified ✓: connection strings for `{HOST}`"),
        (DnsChange.FAILED, "failed", None, "Verification failed: AWS could not find it."),
    ],
)
def test_each_change_is_one_reply(
    change: DnsChange, state: str, actor: str | None, expected: str
) -> None:
    snapshot = dns(state=state, failure_reason="AWS could not find it.")
    reply = check_message(dns_reply(change=change, dns=snapshot, actor=actor))
    assert expected in reply["text"] or expected in text(reply)
    if change is DnsChange.VERIFIED:
        assert "modify-vpc-endpoint --vpc-endpoint-id &lt;vpce-id&gt;" in text(reply)


def test_the_notice_is_read_back_from_its_outbox_row() -> None:
    payload = {
        "change": "verified",
        "actor": None,
        "broadcast": True,
        "dns": dns(state="verified").model_dump(mode="json"),
    }
    assert KINDS[DNS_VERIFICATION] is DnsVerification
    notice = read_notice(DNS_VERIFICATION, payload)
    assert isinstance(notice, DnsVerification)
    assert (notice.thread_key, notice.broadcast) == ("dns:3", True)
    check_message(renderers.reply(notice))


# --- the wizard's Enable Private DNS stage and the Active alert --------------------------------

PROJECT = Project(id=1, name="payments", channel_id="C0PAYMENTS", owners=frozenset({"U0OWNER01"}))
CLUSTER = Cluster(
    id=1,
    project_id=1,
    name="orders",
    tier=Tier.DEDICATED,
    cloud=Cloud.AWS,
    region="us-west-2",
    status=ClusterStatus.ACTIVE,
    private_dns_host=HOST,
)


def dns_stage(dns_state: str | None) -> dict[str, Any]:
    state = WizardState(
        project=PROJECT,
        channel_id="C0PAYMENTS",
        stage=Stage.ENABLE_PRIVATE_DNS,
        cluster=CLUSTER,
        service=EndpointService(
            id=3,
            cluster_id=1,
            status=ServiceStatus.ACTIVE,
            aws_service_id="vpce-svc-0123456789abcdef0",
            service_name="com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0",
            private_dns_name=HOST,
            dns_state=dns_state,
        ),
        endpoint=PrivateEndpoint(
            id=7,
            project_id=1,
            cluster_id=1,
            stage=Stage.ENABLE_PRIVATE_DNS,
            status=EndpointStatus.PENDING,
            created_by="U0OWNER01",
            vpce_id=VPCE,
        ),
    )
    return check_view(wizard_view(state))


@pytest.mark.parametrize("dns_state", ["pendingVerification", "verifying", "failed"])
def test_the_dns_stage_says_plainly_when_the_name_is_not_verified(dns_state: str) -> None:
    view = dns_stage(dns_state)
    shown = text(view)
    assert "modify-vpc-endpoint" not in shown
    assert "Private DNS cannot be turned on yet" in shown and f"not verified `{HOST}`" in shown
    assert f"describe-vpc-endpoints --vpc-endpoint-ids {VPCE}" in shown
    assert view["submit"]["text"] == "Create"


@pytest.mark.parametrize("dns_state", ["verified", None])
def test_the_dns_stage_gives_the_command_once_verified(dns_state: str | None) -> None:
    shown = text(dns_stage(dns_state))
    assert f"modify-vpc-endpoint --vpc-endpoint-id {VPCE} --region us-west-2" in shown
    assert "cannot be turned on yet" not in shown


def active(dns_verified: bool | None) -> dict[str, Any]:
    snapshot = {
        "id": 7,
        "project_id": 1,
        "cluster": "orders",
        "region": "us-west-2",
        "host": HOST,
        "port": 4000,
        "status": "active",
        "stage": "done",
        "vpce_id": VPCE,
        "created_by": "U0OWNER01",
        "dns_verified": dns_verified,
    }
    return check_message(thread_reply(text="The bot saw it available", snapshot=snapshot))


def test_the_active_alert_says_when_the_host_does_not_resolve_yet() -> None:
    unresolved = active(False)
    assert "does not resolve yet" in text(unresolved)
    assert "does not resolve yet" in unresolved["text"]
    assert f"--vpc-endpoint-ids {VPCE}" in text(unresolved)
    assert f"-h {HOST} -P 4000" in text(unresolved)  # the strings, for once it resolves
    for known in (True, None):
        assert "does not resolve" not in text(active(known))
