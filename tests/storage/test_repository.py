"""The storage queries and the schema's rules, on SQLite and Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from bot.domain.states import Cloud, ClusterStatus, EndpointStatus, ServiceStatus, Stage, Tier
from bot.storage import (
    cluster_queries,
    endpoint_queries,
    event_log,
    orm,
    outbox_queries,
    project_queries,
    service_queries,
)
from tests.storage.queries import list_events

NLB = "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/net/orders/0123456789abcdef"


def make_project(
    session: Session, name: str = "payments", channel: str = "C0PAYMENTS"
) -> orm.Project:
    return project_queries.create_project(
        session=session, name=name, channel_id=channel, team_id="T0001", owners=["U0OWNER1"]
    )


def make_cluster(session: Session, project: orm.Project, name: str = "orders") -> orm.Cluster:
    return cluster_queries.create_cluster(
        session=session,
        project_id=project.id,
        name=name,
        tier=Tier.DEDICATED,
        cloud=Cloud.AWS,
        region="us-west-2",
        status=ClusterStatus.ACTIVE,
        nlb_arn=NLB,
        port=4000,
        private_dns_host=f"{name}.us-west-2.privatelink.example.com",
    )


def make_endpoint(session: Session, cluster: orm.Cluster, **values: object) -> orm.PrivateEndpoint:
    defaults: dict[str, object] = {
        "stage": Stage.INTERFACE_ENDPOINT,
        "status": EndpointStatus.NOT_CONFIGURED,
        "created_by": "U0OWNER1",
    }
    endpoint = orm.PrivateEndpoint(
        project_id=cluster.project_id, cluster_id=cluster.id, **(defaults | values)
    )
    session.add(endpoint)
    session.flush()
    return endpoint


def test_project_round_trip(db_session: Session) -> None:
    project = make_project(db_session)
    db_session.expire_all()
    loaded = project_queries.get_project_by_channel(session=db_session, channel_id="C0PAYMENTS")
    assert loaded is not None and loaded.id == project.id
    assert loaded.to_domain().owners == frozenset({"U0OWNER1"})
    assert loaded.created_at.tzinfo is UTC
    assert [
        p.name
        for p in project_queries.list_projects_of_user(session=db_session, user_id="U0OWNER1")
    ] == ["payments"]


def test_project_name_and_channel_are_unique(db_session: Session) -> None:
    make_project(db_session)
    with pytest.raises(IntegrityError), db_session.begin_nested():
        make_project(db_session, channel="C0OTHER")
    with pytest.raises(IntegrityError), db_session.begin_nested():
        make_project(db_session, name="other")


def test_cluster_names_unique_within_a_project_only(db_session: Session) -> None:
    first, second = make_project(db_session), make_project(db_session, "billing", "C0BILLING")
    make_cluster(db_session, first)
    make_cluster(db_session, second)
    with pytest.raises(IntegrityError), db_session.begin_nested():
        make_cluster(db_session, first)


def test_one_endpoint_service_per_cluster(db_session: Session) -> None:
    cluster = make_cluster(db_session, make_project(db_session))
    db_session.add(
        orm.EndpointService(
            cluster_id=cluster.id, status=ServiceStatus.CREATING, client_token="plbot-1"
        )
    )
    db_session.flush()
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.add(
            orm.EndpointService(
                cluster_id=cluster.id, status=ServiceStatus.CREATING, client_token="plbot-2"
            )
        )
        db_session.flush()
    services = service_queries.map_services_by_cluster(session=db_session, cluster_ids=[cluster.id])
    assert services[cluster.id].to_domain().az_ids == ()


def test_a_vpce_belongs_to_one_live_endpoint(db_session: Session) -> None:
    cluster = make_cluster(db_session, make_project(db_session))
    first = make_endpoint(db_session, cluster, vpce_id="vpce-0123456789abcdef0")
    make_endpoint(db_session, cluster)  # several without a vpce are fine
    make_endpoint(db_session, cluster)
    with pytest.raises(IntegrityError), db_session.begin_nested():
        make_endpoint(db_session, cluster, vpce_id="vpce-0123456789abcdef0")
    endpoint_queries.delete_endpoint(session=db_session, endpoint=first)
    make_endpoint(db_session, cluster, vpce_id="vpce-0123456789abcdef0")  # free again
    counts = endpoint_queries.count_endpoints_by_cluster(
        session=db_session, cluster_ids=[cluster.id]
    )
    assert counts == {cluster.id: 3}


def test_optimistic_lock_refuses_a_stale_write(db_session: Session) -> None:
    cluster = make_cluster(db_session, make_project(db_session))
    endpoint = make_endpoint(db_session, cluster)
    assert endpoint.version == 1
    endpoint.stage = Stage.ACCEPT_ENDPOINT_CONNECTION
    db_session.flush()
    assert endpoint.version == 2
    # Another writer moved the row on meanwhile: simulate by bumping the version in SQL.
    db_session.execute(
        orm.PrivateEndpoint.__table__.update()
        .where(orm.PrivateEndpoint.id == endpoint.id)
        .values(version=3)
    )
    endpoint.status = EndpointStatus.INITIATING
    with pytest.raises(StaleDataError), db_session.begin_nested():
        db_session.flush()


def test_events_keep_history_after_the_row_is_gone(db_session: Session) -> None:
    cluster = make_cluster(db_session, make_project(db_session))
    endpoint = make_endpoint(db_session, cluster)
    for to_status in ("initiating", "deleting"):
        event_log.record_event(
            session=db_session,
            project_id=cluster.project_id,
            subject="private_endpoint",
            subject_id=endpoint.id,
            actor="U0OWNER1",
            action="x",
            to_status=to_status,
        )
    endpoint_id = endpoint.id
    endpoint_queries.delete_endpoint(session=db_session, endpoint=endpoint)
    history = list_events(session=db_session, subject="private_endpoint", subject_id=endpoint_id)
    assert [e.to_status for e in history] == ["initiating", "deleting"]


def test_outbox_dedupe_key(db_session: Session) -> None:
    first = outbox_queries.add(
        session=db_session,
        dedupe_key="ep-1-active",
        kind="post",
        channel_id="C0PAYMENTS",
        payload={"text": "Active"},
        thread_key="endpoint:1",
    )
    again = outbox_queries.add(
        session=db_session,
        dedupe_key="ep-1-active",
        kind="post",
        channel_id="C0PAYMENTS",
        payload={"text": "Active"},
        thread_key="endpoint:1",
    )
    db_session.flush()
    assert first is not None and again is None
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.add(orm.Outbox(dedupe_key="ep-1-active", kind="post", payload={}))
        db_session.flush()


def test_ids_are_never_reused_after_a_delete(db_session: Session) -> None:
    cluster = make_cluster(db_session, make_project(db_session))
    first = make_endpoint(db_session, cluster)
    first_id = first.id
    endpoint_queries.delete_endpoint(session=db_session, endpoint=first)
    assert make_endpoint(db_session, cluster).id > first_id


def test_listing_reads_the_first_of_each_project_and_counts_the_rest(db_session: Session) -> None:
    first, second = make_project(db_session), make_project(db_session, "billing", "C0BILLING")
    big, small = make_cluster(db_session, first), make_cluster(db_session, second)
    made = {first.id: [], second.id: []}  # type: dict[int, list[int]]
    for n in range(7):
        status = EndpointStatus.ACTIVE if n % 2 else EndpointStatus.PENDING
        made[first.id].append(
            make_endpoint(db_session, big, status=status, subnet_ids=["a"] * n).id
        )
    made[second.id].append(make_endpoint(db_session, small).id)
    ids = [first.id, second.id, 999]

    limited = endpoint_queries.list_endpoints_of_projects(
        session=db_session, project_ids=ids, per_project=3
    )
    assert [e.id for e in limited] == made[first.id][:3] + made[second.id]
    alone = endpoint_queries.list_endpoints_of_projects(
        session=db_session, project_ids=[first.id], per_project=2
    )
    assert [e.id for e in alone] == made[first.id][:2]
    every = endpoint_queries.list_endpoints_of_projects(
        session=db_session, project_ids=ids, per_project=100
    )
    assert [e.id for e in every] == made[first.id] + made[second.id]
    counts = endpoint_queries.count_endpoints_of_projects(session=db_session, project_ids=ids)
    assert counts == {first.id: 7, second.id: 1, 999: 0}
    subnets = endpoint_queries.subnet_ids_of_project(
        session=db_session, project_id=first.id, statuses={EndpointStatus.PENDING}
    )
    assert sorted(len(s) for s in subnets) == [0, 2, 4, 6]


def test_first_endpoint_in_a_status(db_session: Session) -> None:
    project = make_project(db_session)
    orders, ledger = make_cluster(db_session, project), make_cluster(db_session, project, "ledger")
    make_endpoint(db_session, orders, status=EndpointStatus.PENDING)
    on_ledger = make_endpoint(db_session, ledger, status=EndpointStatus.ACTIVE)
    on_orders = make_endpoint(db_session, orders, status=EndpointStatus.ACTIVE)
    active = EndpointStatus.ACTIVE

    def first(**where: int) -> int | None:
        found = endpoint_queries.first_endpoint(
            session=db_session, project_id=project.id, status=active, **where
        )
        return found.id if found is not None else None

    assert first() == on_ledger.id
    assert first(cluster_id=orders.id) == on_orders.id
    other = make_project(db_session, "billing", "C0BILLING")
    assert (
        endpoint_queries.first_endpoint(session=db_session, project_id=other.id, status=active)
        is None
    )


def test_alert_due_finds_waiting_endpoints_not_told_yet(db_session: Session) -> None:
    """One query: the given clusters' endpoints in the statuses asked, in them since before the
    time; an endpoint whose alert about its status is queued is left out, one told about
    another status or another alert is not."""
    project = make_project(db_session)
    cluster, other = make_cluster(db_session, project), make_cluster(db_session, project, "b")
    old = datetime(2026, 12, 1, tzinfo=UTC)
    cutoff = old + timedelta(days=1)
    made = {
        status: make_endpoint(db_session, cluster, status=status, status_changed_at=old).id
        for status in EndpointStatus
    }
    recent = make_endpoint(
        db_session, cluster, status=EndpointStatus.INITIATING, status_changed_at=cutoff
    ).id
    elsewhere = make_endpoint(
        db_session, other, status=EndpointStatus.INITIATING, status_changed_at=old
    ).id
    waiting = {EndpointStatus.INITIATING, EndpointStatus.PENDING}

    def due(clusters: list[int]) -> list[int]:
        return endpoint_queries.list_alert_due(
            session=db_session,
            cluster_ids=clusters,
            alert="stuck",
            statuses=waiting,
            entered_before=cutoff,
        )

    initiating, pending = made[EndpointStatus.INITIATING], made[EndpointStatus.PENDING]
    assert due([cluster.id]) == [initiating, pending]
    assert due([cluster.id, other.id]) == [initiating, pending, elsewhere]
    assert recent not in due([cluster.id]) and due([]) == []
    for endpoint_id, alert, status in (
        (initiating, "stuck", "initiating"),
        (pending, "stuck", "initiating"),  # another status: does not count
        (pending, "unhealthy", "pending"),  # another alert: does not count
    ):
        key = endpoint_queries.alert_key(endpoint_id=endpoint_id, alert=alert, status=status)
        outbox_queries.add(
            session=db_session,
            dedupe_key=key,
            kind="endpoint_alert",
            channel_id="C0PAYMENTS",
            payload={},
            thread_key=f"endpoint:{endpoint_id}",
        )
    db_session.flush()
    assert due([cluster.id]) == [pending]
