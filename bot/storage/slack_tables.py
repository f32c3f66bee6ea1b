"""What the bot keeps of Slack itself, beside its own entities: the installs by OAuth, in
slack_sdk's own table shapes (its stores read and write them; the migrations make them, and
tests/storage checks that both agree), and the Events API callbacks taken in.

Registered on `bot.storage.orm.Base`'s metadata when `bot.storage` is imported."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import String, Table
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.orm import Base
from bot.storage.types import UtcDateTime


class SlackEvent(Base):
    """An Events API callback taken in, by Slack's `event_id`: what makes a retried event act
    once (`bot.storage.slack_event_queries`). `done_at` is set once its listener finished."""

    __tablename__ = "slack_event"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


SLACK_TABLES: tuple[Table, ...] = (
    SQLAlchemyInstallationStore.build_installations_table(Base.metadata, "slack_installations"),
    SQLAlchemyInstallationStore.build_bots_table(Base.metadata, "slack_bots"),
    SQLAlchemyOAuthStateStore.build_oauth_states_table(Base.metadata, "slack_oauth_states"),
)
