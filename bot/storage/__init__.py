"""Persistence: the SQLAlchemy 2 models, engine and sessions, and the queries by aggregate."""

from bot.storage import orm, slack_tables  # every table on one metadata, whatever is imported

__all__ = ["orm", "slack_tables"]
