"""The product rules of DESIGN section 1."""

from __future__ import annotations

import dataclasses

import pytest

from bot.domain import rules
from bot.domain.entities import Cluster, PrivateEndpoint, Project
from bot.domain.errors import InvalidInput, NotEditable, NotEligible, NotFound, PermissionDenied
from bot.domain.states import (
    Action,
    Cloud,
    ClusterStatus,
    EndpointStatus,
    Stage,
    Tier,
)
from tests.domain.helpers import drop_cascade


def cluster(cid: int, name: str, **changes: object) -> Cluster:
    base = Cluster(
        id=cid,
        project_id=1,
        name=name,
        tier=Tier.DEDICATED,
        cloud=Cloud.AWS,
        region="us-west-2",
        status=ClusterStatus.ACTIVE,
        nlb_arn="arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/net/x/0123456789abcdef",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def endpoint(
    status: EndpointStatus, stage: Stage = Stage.INTERFACE_ENDPOINT, **changes: object
) -> PrivateEndpoint:
    base = PrivateEndpoint(
        id=7, project_id=1, cluster_id=1, stage=stage, status=status, created_by="U1"
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


PROJECT = Project(id=1, name="payments", channel_id="C1", owners=frozenset({"UOWNER"}))


class TestEligibility:
    def test_only_active_dedicated_aws_clusters_are_offered(self) -> None:
        ok = cluster(1, "orders")
        gcp = cluster(2, "analytics", cloud=Cloud.GCP)
        dev = cluster(3, "sandbox", tier=Tier.DEVELOPER)
        creating = cluster(4, "fresh", status=ClusterStatus.CREATING)
        choice = rules.choose_cluster([ok, gcp, dev, creating])
        assert choice.eligible == (ok,)
        reasons = {c.name: reason for c, reason in choice.excluded}
        assert "Not applicable" in reasons["analytics"] and "AWS" in reasons["analytics"]
        assert "Developer-tier" in reasons["sandbox"]
        assert "still being created" in reasons["fresh"]

    def test_deleting_cluster_is_not_offered(self) -> None:
        assert rules.ineligibility(cluster(1, "x", status=ClusterStatus.DELETING)) is not None

    def test_check_eligible_raises_with_reason(self) -> None:
        with pytest.raises(NotEligible, match="Developer-tier"):
            rules.check_eligible(cluster(1, "x", tier=Tier.DEVELOPER))


class TestDefaultCluster:
    def test_named_cluster_wins(self) -> None:
        a, b = cluster(1, "a"), cluster(2, "b")
        assert rules.choose_cluster([a, b], requested="b").default == b

    def test_first_eligible_without_endpoint(self) -> None:
        a, b, c = cluster(1, "a"), cluster(2, "b", tier=Tier.DEVELOPER), cluster(3, "c")
        assert rules.choose_cluster([a, b, c], with_endpoint={1}).default == c

    def test_no_default_when_every_eligible_cluster_has_an_endpoint(self) -> None:
        assert rules.choose_cluster([cluster(1, "a")], with_endpoint={1}).default is None

    def test_unknown_name(self) -> None:
        with pytest.raises(NotFound, match="nope"):
            rules.choose_cluster([cluster(1, "a")], requested="nope")

    def test_ineligible_name(self) -> None:
        with pytest.raises(NotEligible, match="Not applicable"):
            rules.choose_cluster([cluster(1, "a", cloud=Cloud.GCP)], requested="a")


def test_region_lock() -> None:
    rules.check_region(cluster(1, "a"), "us-west-2")
    with pytest.raises(InvalidInput, match="Cross-region") as caught:
        rules.check_region(cluster(1, "a"), "eu-west-1")
    assert caught.value.field == "region"


class TestPermissions:
    @pytest.mark.parametrize("action", list(Action))
    def test_owner_may_do_everything(self, action: Action) -> None:
        rules.authorize(PROJECT, "UOWNER", action)

    @pytest.mark.parametrize("action", [Action.LIST, Action.CONNECT, Action.BILLING])
    def test_member_may_read(self, action: Action) -> None:
        rules.authorize(PROJECT, "UMEMBER", action)

    @pytest.mark.parametrize(
        "action", [Action.CREATE, Action.EDIT, Action.TERMINATE, Action.DECIDE_CONNECTION]
    )
    def test_member_may_not_change(self, action: Action) -> None:
        with pytest.raises(PermissionDenied, match="<@UOWNER>"):
            rules.authorize(PROJECT, "UMEMBER", action)


class TestEdit:
    @pytest.mark.parametrize(
        ("status", "stage", "vpce", "expected"),
        [
            (
                EndpointStatus.NOT_CONFIGURED,
                Stage.INTERFACE_ENDPOINT,
                None,
                Stage.INTERFACE_ENDPOINT,
            ),
            (
                EndpointStatus.INITIATING,
                Stage.ACCEPT_ENDPOINT_CONNECTION,
                None,
                Stage.ACCEPT_ENDPOINT_CONNECTION,
            ),
            (
                EndpointStatus.PENDING,
                Stage.ENABLE_PRIVATE_DNS,
                "vpce-0123456789abcdef0",
                Stage.ENABLE_PRIVATE_DNS,
            ),
            (
                EndpointStatus.FAILED,
                Stage.ACCEPT_ENDPOINT_CONNECTION,
                "vpce-0123456789abcdef0",
                Stage.ACCEPT_ENDPOINT_CONNECTION,
            ),
            (EndpointStatus.FAILED, Stage.INTERFACE_ENDPOINT, None, Stage.INTERFACE_ENDPOINT),
        ],
    )
    def test_resumes_at(
        self, status: EndpointStatus, stage: Stage, vpce: str | None, expected: Stage
    ) -> None:
        ep = endpoint(status, stage, vpce_id=vpce)
        assert rules.edit_stage(ep) is expected
        assert rules.can_edit(ep)

    def test_not_while_verifying(self) -> None:
        ep = endpoint(EndpointStatus.INITIATING, vpce_id="vpce-0123456789abcdef0")
        with pytest.raises(NotEditable, match="being verified"):
            rules.edit_stage(ep)
        assert not rules.can_edit(ep)

    @pytest.mark.parametrize(
        "status", [EndpointStatus.ACTIVE, EndpointStatus.DELETING, EndpointStatus.DELETED]
    )
    def test_not_editable(self, status: EndpointStatus) -> None:
        with pytest.raises(NotEditable):
            rules.edit_stage(endpoint(status))


class TestTerminateAndCascade:
    def test_terminate_only_moves_the_one(self) -> None:
        change = rules.terminate(endpoint(EndpointStatus.ACTIVE))
        assert change.to_status is EndpointStatus.DELETING

    @pytest.mark.parametrize("status", list(EndpointStatus))
    def test_can_terminate(self, status: EndpointStatus) -> None:
        expected = status not in (EndpointStatus.DELETING, EndpointStatus.DELETED)
        assert rules.can_terminate(endpoint(status)) is expected

    def test_drop_moves_every_live_endpoint(self) -> None:
        eps = [
            endpoint(EndpointStatus.ACTIVE, id=1),
            endpoint(EndpointStatus.FAILED, id=2),
            endpoint(EndpointStatus.DELETING, id=3),
            endpoint(EndpointStatus.NOT_CONFIGURED, id=4),
        ]
        moved = drop_cascade(eps)
        assert [ep.id for ep, _ in moved] == [1, 2, 4]
        assert {change.to_status for _, change in moved} == {EndpointStatus.DELETING}
