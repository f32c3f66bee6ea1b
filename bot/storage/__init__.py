"""Persistence: the SQLAlchemy 2 models, engine and sessions, and the queries by aggregate."""
