"""The doctor's ack and checklist are valid Block Kit within Slack's limits, however many
targets are unhealthy and however long AWS's words are; each mark reads as it should."""

from __future__ import annotations

import dataclasses

import pytest

from bot.domain.doctor import Check, Mark, TargetSeen, Topic, targets_check
from bot.domain.states import EndpointStatus, Stage
from bot.domain.user_side_checks import user_side_checks
from bot.services.doctor import Diagnosis, Patient
from bot.slack.views.doctor import DETAILS_SHOWN, checking_message, doctor_message
from tests.slack.checks import check_message
from tests.slack.test_views import HOST, SERVICES, cluster, endpoint
from tests.slack.test_wizard import texts

VPCE = "vpce-0123456789abcdef0"
PATIENT = Patient(
    endpoint=endpoint(EndpointStatus.ACTIVE, Stage.DONE, vpce_id=VPCE, account_id="111122223333"),
    cluster=cluster(nlb_arn="arn:aws:elasticloadbalancing:us-west-2:1:loadbalancer/net/o/1"),
    service=SERVICES["active"],
)
USER_CHECKS = user_side_checks(vpce_id=VPCE, region="us-west-2", host=HOST, port=4000)


def diagnosis(checks: list[Check], patient: Patient = PATIENT) -> Diagnosis:
    return Diagnosis(patient=patient, checks=checks, host=HOST, user_checks=USER_CHECKS)


def test_the_ack_names_the_endpoint_being_checked() -> None:
    message = check_message(checking_message(PATIENT))
    assert message["text"] == "Checking private endpoint #7"
    assert "#7 to *orders* (us-west-2)" in texts(message)


@pytest.mark.parametrize("count", [1, DETAILS_SHOWN, 500])
def test_many_unhealthy_targets_with_long_reasons_stay_within_limits(count: int) -> None:
    targets = [
        TargetSeen(f"i-{n:017x}:4000", "unhealthy", "Target.FailedHealthChecks", "x" * 900)
        for n in range(count)
    ]
    sick = targets_check(cluster=PATIENT.cluster, targets=targets)
    long = Check(Topic.SERVICE, Mark.BAD, "<&>" * 2000, "fix " * 1000)
    message = check_message(doctor_message(diagnosis([long, sick])))
    shown = texts(message)
    assert "&lt;&amp;&gt;" in shown and "<&>" not in shown  # AWS's words are escaped
    if count > DETAILS_SHOWN:
        assert f"… and {count - DETAILS_SHOWN} more" in shown
    assert "*Fix:* Nothing on your side can fix this" in shown  # never clipped away


def test_each_mark_and_the_summary() -> None:
    checks = [
        Check(Topic.SERVICE, Mark.OK, "fine"),
        Check(Topic.CONNECTION, Mark.WAITING, "on its way"),
        Check(Topic.ACCOUNT, Mark.NOT_YET, "nothing yet"),
        Check(Topic.DNS, Mark.BAD, "wrong", "do this"),
        Check(Topic.TARGETS, Mark.BAD, "wrong too", "and that"),
    ]
    message = check_message(doctor_message(diagnosis(checks)))
    shown = texts(message)
    for line in [
        ":white_check_mark: *Endpoint service:* fine",
        ":hourglass_flowing_sand: *Connection:* on its way",
        ":white_circle: *Allowed account:* nothing yet",
        ":x: *Private DNS name:* wrong\n      *Fix:* do this",
    ]:
        assert line in shown
    assert message["text"] == "Doctor for private endpoint #7: 2 problem(s) found"
    assert "*What only you can check*" in shown


def test_an_endpoint_without_a_vpce_shows_its_stage_and_no_user_checks() -> None:
    waiting = dataclasses.replace(
        PATIENT,
        endpoint=endpoint(EndpointStatus.NOT_CONFIGURED, Stage.INTERFACE_ENDPOINT, vpce_id=None),
    )
    found = Diagnosis(patient=waiting, checks=[], host=None, user_checks=[])
    message = check_message(doctor_message(found))
    shown = texts(message)
    assert "no VPC endpoint yet" in shown
    assert "at the wizard's Interface Endpoint stage" in shown
    assert "What only you can check" not in shown
