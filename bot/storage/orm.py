"""SQLAlchemy 2 typed models: one table per entity, singular snake_case names."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    inspect,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from bot.domain import entities
from bot.domain.cluster_health import TargetHealth
from bot.domain.states import (
    Cloud,
    ClusterStatus,
    EndpointStatus,
    Role,
    ServiceStatus,
    Stage,
    Tier,
)
from bot.storage.types import StrEnumType, UtcDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class Project(Timestamped, Base):
    __tablename__ = "project"
    # A channel id is unique within its workspace; a project whose workspace is not learned
    # yet (team_id NULL, one-workspace installs) keeps its channel to itself.
    __table_args__ = (
        UniqueConstraint("team_id", "channel_id"),
        Index(
            "uq_project_channel_id_team_unknown",
            "channel_id",
            unique=True,
            sqlite_where=text("team_id IS NULL"),
            postgresql_where=text("team_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    channel_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    """Moved on by every change to the project or its members (`_bump_project_versions`), in
    the same transaction: what a process's cache of the project checks before each use."""

    members: Mapped[list[ProjectMember]] = relationship(
        back_populates="project", cascade="all, delete-orphan", lazy="selectin"
    )

    def owners(self) -> frozenset[str]:
        """The Slack user ids of the project's owners."""
        return frozenset(m.user_id for m in self.members if m.role is Role.OWNER)

    def to_domain(self) -> entities.Project:
        """The project as the domain rules see it."""
        return entities.Project(
            id=self.id,
            name=self.name,
            channel_id=self.channel_id,
            team_id=self.team_id,
            owners=self.owners(),
        )


class ProjectMember(Timestamped, Base):
    __tablename__ = "project_member"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[Role] = mapped_column(StrEnumType(Role))
    home_digest: Mapped[str | None] = mapped_column(String(64))
    """A digest of the Home tab last published to this user with success (the same on each of
    the user's member rows), so that an unchanged page is not sent again."""
    home_hash: Mapped[str | None] = mapped_column(String(255))
    """Slack's hash of that published page: the next publish names it, so a page another
    process has published since is not overwritten with an older one."""

    project: Mapped[Project] = relationship(back_populates="members")


MEMBERSHIP = ("user_id", "role", "project_id", "project")
"""What makes a member row part of its project's version (its Home tab record is not)."""


@event.listens_for(Session, "before_flush")
def _bump_project_versions(session: Session, _context: Any, _instances: Any) -> None:
    """Move on the `version` of every project whose row or membership this flush changes, by
    an increment done in SQL (two writers never both write the same next version). A write
    that goes around the ORM (a Core statement) must move the version on itself."""
    touched: dict[int, Project] = {}
    with session.no_autoflush:
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, Project) and session.is_modified(obj, include_collections=False):
                touched[id(obj)] = obj
            if not isinstance(obj, ProjectMember):
                continue
            state = inspect(obj)
            histories = [state.attrs[name].history for name in MEMBERSHIP]
            if not (
                obj in session.new
                or obj in session.deleted
                or any(h.has_changes() for h in histories)
            ):
                continue
            moved = histories[-1]  # a member taken out of `project.members` has no project now
            for project in (obj.project, *moved.added, *moved.deleted):
                if isinstance(project, Project):
                    touched[id(project)] = project
            if obj.project is None and obj.project_id is not None:
                owner = session.get(Project, obj.project_id)
                if owner is not None:
                    touched[id(owner)] = owner
    for project in touched.values():
        if not (project in session.new or project in session.deleted):
            project.version = Project.version + 1


class Cluster(Timestamped, Base):
    __tablename__ = "cluster"
    __table_args__ = (UniqueConstraint("project_id", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    name: Mapped[str] = mapped_column(String(63))
    tier: Mapped[Tier] = mapped_column(StrEnumType(Tier))
    cloud: Mapped[Cloud] = mapped_column(StrEnumType(Cloud))
    region: Mapped[str] = mapped_column(String(32))
    status: Mapped[ClusterStatus] = mapped_column(StrEnumType(ClusterStatus))
    nlb_arn: Mapped[str | None] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=entities.DEFAULT_PORT)
    private_dns_host: Mapped[str] = mapped_column(String(253))
    # the targets behind its load balancer, as the worker last read them and told of them
    # (`bot.domain.cluster_health.TargetHealth`)
    health_read_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    healthy_targets: Mapped[int | None] = mapped_column(Integer)
    total_targets: Mapped[int | None] = mapped_column(Integer)
    health_reason: Mapped[str | None] = mapped_column(Text)
    unhealthy_reads: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    health_down: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    health_changes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def health(self) -> TargetHealth:
        """The targets behind the cluster's load balancer, as the worker keeps them."""
        return TargetHealth(
            read_at=self.health_read_at,
            healthy=self.healthy_targets,
            total=self.total_targets,
            reason=self.health_reason,
            unhealthy_reads=self.unhealthy_reads,
            down=self.health_down,
            changes=self.health_changes,
        )

    def to_domain(self) -> entities.Cluster:
        """The cluster as the domain rules see it."""
        return entities.Cluster(
            id=self.id,
            project_id=self.project_id,
            name=self.name,
            tier=self.tier,
            cloud=self.cloud,
            region=self.region,
            status=self.status,
            nlb_arn=self.nlb_arn,
            port=self.port,
            private_dns_host=self.private_dns_host,
            health=self.health,
        )


class EndpointService(Timestamped, Base):
    __tablename__ = "endpoint_service"
    __table_args__ = {"sqlite_autoincrement": True}  # ids are never reused after a delete

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("cluster.id"), unique=True)
    status: Mapped[ServiceStatus] = mapped_column(StrEnumType(ServiceStatus), index=True)
    client_token: Mapped[str] = mapped_column(String(64), unique=True)
    aws_service_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    service_name: Mapped[str | None] = mapped_column(String(255))
    az_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    private_dns_name: Mapped[str | None] = mapped_column(String(253))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    allowed_accounts: Mapped[list[str]] = mapped_column(JSON, default=list)
    """AWS accounts the worker has allowed to connect, so that each grant is made once."""
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    """The reconcile worker holding this service (with its endpoints) until `claimed_until`."""
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """The lease's end while claimed; once released, when it was last reconciled."""
    dns_state: Mapped[str | None] = mapped_column(String(32))
    """AWS's private DNS name state (pendingVerification, verified or failed), or the bot's own
    `verifying` between starting AWS's check and reading its outcome
    (`bot.domain.dns_verification`)."""
    dns_txt_name: Mapped[str | None] = mapped_column(String(255))
    dns_txt_value: Mapped[str | None] = mapped_column(String(255))
    dns_failure_reason: Mapped[str | None] = mapped_column(Text)
    dns_verify_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """An owner pressed "Verify now": the worker starts AWS's verification, then clears it."""

    def to_domain(self) -> entities.EndpointService:
        """The endpoint service as the domain rules see it."""
        return entities.EndpointService(
            id=self.id,
            cluster_id=self.cluster_id,
            status=self.status,
            aws_service_id=self.aws_service_id,
            service_name=self.service_name,
            az_ids=tuple(self.az_ids),
            private_dns_name=self.private_dns_name,
            failure_reason=self.failure_reason,
            allowed_accounts=tuple(self.allowed_accounts),
            dns_state=self.dns_state,
            dns_verify_requested_at=self.dns_verify_requested_at,
        )


class PrivateEndpoint(Timestamped, Base):
    __tablename__ = "private_endpoint"
    __table_args__ = (
        # the endpoints in a status since before a time: what the worker's alerts look for
        Index("ix_private_endpoint_status_since", "status", "status_changed_at"),
        {"sqlite_autoincrement": True},  # ids are never reused after a delete
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("cluster.id"), index=True)
    stage: Mapped[Stage] = mapped_column(StrEnumType(Stage))
    status: Mapped[EndpointStatus] = mapped_column(StrEnumType(EndpointStatus), index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    """Since when the endpoint is in its `status`: the time of the event that moved it there
    (`bot.services.changes` sets both; a step within a status leaves it)."""
    created_by: Mapped[str] = mapped_column(String(32))
    creation_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    account_id: Mapped[str | None] = mapped_column(String(12))
    vpc_id: Mapped[str | None] = mapped_column(String(32))
    subnet_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    vpce_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    alert_ts: Mapped[str | None] = mapped_column(String(32))
    view_id: Mapped[str | None] = mapped_column(String(32))
    suggested_vpce_id: Mapped[str | None] = mapped_column(String(32))
    """A pending connection from the endpoint's account that the worker offers as its vpce."""
    security_group_ids: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    """The user's security groups for the interface endpoint; none: the wizard shows how to
    make one and puts it in the create command."""
    version: Mapped[int] = mapped_column(Integer)
    # Read-only ways to the rows the ids name: loaded once per session (the identity map
    # answers later reads), and kept alive for as long as the endpoint is.
    project: Mapped[Project] = relationship(viewonly=True)
    cluster: Mapped[Cluster] = relationship(viewonly=True)

    __mapper_args__: dict[str, Any] = {"version_id_col": version}

    def to_domain(self) -> entities.PrivateEndpoint:
        """The private endpoint as the domain rules see it."""
        return entities.PrivateEndpoint(
            id=self.id,
            project_id=self.project_id,
            cluster_id=self.cluster_id,
            stage=self.stage,
            status=self.status,
            created_by=self.created_by,
            account_id=self.account_id,
            vpc_id=self.vpc_id,
            subnet_ids=tuple(self.subnet_ids),
            vpce_id=self.vpce_id,
            failure_reason=self.failure_reason,
            suggested_vpce_id=self.suggested_vpce_id,
            security_group_ids=tuple(self.security_group_ids or ()),
        )


class Event(Base):
    """The append-only audit log; it outlives the rows it speaks of (no foreign keys)."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_subject", "subject", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(Integer, index=True)
    subject: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Outbox(Base):
    """A Slack notification written with the change that causes it, sent later by the worker.

    The worker leases a row (`claimed_by` until `claimed_until`), records each Slack step as it
    is done (`parent_ts`, `reply_ts`, `last_post_at`), and ends it `sent_at` or `dead_at`
    (`held_at` meanwhile while its channel cannot take posts).
    `post_started_at` is set before each post and cleared once its outcome is known: left set,
    the next try looks the post up in Slack before posting again.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(191), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(String(32), default="", server_default="")
    """The channel's workspace ("" while its project's is not known: the one workspace)."""
    channel_id: Mapped[str | None] = mapped_column(String(32), index=True)
    private_endpoint_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    parent_ts: Mapped[str | None] = mapped_column(String(32))
    reply_ts: Mapped[str | None] = mapped_column(String(32))
    last_post_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    dead_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    thread_key: Mapped[str | None] = mapped_column(String(64), index=True)
    """The Slack thread the row belongs to (`endpoint:7`, `dns:3`, …): one parent message each."""
    post_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """When a post of the row's next step began whose outcome is not known yet."""
    held_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    """Since when the row is held: Slack refuses the bot's posts in its channel until a person
    acts (invites the bot, unarchives the channel, reinstalls the app); the reason is in
    `last_error`. A held row is never given up on, and holds back the rows behind it."""


class ConnectionRequest(Timestamped, Base):
    """A connection request on one of the bot's services that matches no private endpoint:
    shown to the project's owners, accepted or rejected only on their word."""

    __tablename__ = "connection_request"
    __table_args__ = (UniqueConstraint("endpoint_service_id", "vpce_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    endpoint_service_id: Mapped[int] = mapped_column(
        ForeignKey("endpoint_service.id", ondelete="CASCADE"), index=True
    )
    vpce_id: Mapped[str] = mapped_column(String(32))
    owner_account: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(32))
    """pending, accept_requested, reject_requested, accepted, rejected or gone."""
    decided_by: Mapped[str | None] = mapped_column(String(32))
