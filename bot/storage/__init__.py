"""Persistence: SQLAlchemy 2 models, engine and sessions, and the repository."""
