"""The Alembic scripts, shipped in the wheel as a package; bot.storage.migrate finds them here."""
