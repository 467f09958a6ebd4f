"""Alembic migrations of the gtqa database (run them with ``gtqa.storage.migrate.upgrade(url)``)."""
