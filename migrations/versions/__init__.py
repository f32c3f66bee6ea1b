"""Alembic revisions, one file each, named by date and slug; every file here ships in the wheel."""
