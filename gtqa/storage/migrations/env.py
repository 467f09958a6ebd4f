"""Alembic environment. ``gtqa.storage.migrate`` passes an open connection in ``config.attributes``;
the ``alembic`` command line (configured in pyproject.toml) gets the URL from ``GTQA_DATABASE_URL``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from gtqa.settings import get_settings
from gtqa.storage.engine import make_engine
from gtqa.storage.models import Base

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or get_settings().database_url


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        return
    engine = make_engine(_url(), pool_size=1)
    try:
        with engine.begin() as conn:
            _configure(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
