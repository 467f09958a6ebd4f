"""Schema migrations, run from code: ``upgrade(url)`` brings a database (empty or older) to the newest
revision. From a shell (URL: ``--url``, else the settings')::

    python -m gtqa.storage upgrade [REVISION]     # default head
    python -m gtqa.storage current
    python -m gtqa.storage revision -m "add x"    # autogenerate against a database at head, then tidy
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL, make_url

from gtqa.settings import get_settings
from gtqa.storage.engine import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at ``url`` to ``revision``, in one transaction (DDL is transactional on
    both SQLite and PostgreSQL, so a failed migration leaves the schema as it was)."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def downgrade(url: str | URL, revision: str) -> None:
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), revision)
    finally:
        engine.dispose()


def current_revision(url: str | URL) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def engine_revision(engine: Engine) -> str | None:
    """The revision of the database behind a running engine (None when it was never migrated), after a
    round trip; ``SQLAlchemyError`` when the database cannot be reached."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS}")
    return head


def new_revision(url: str | URL, message: str) -> None:
    """Write a new revision file from the difference between the models and the database at ``url``
    (which must be at head). Read and tidy what it writes: autogenerate misses some changes."""
    engine = make_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            command.revision(alembic_config(connection), message=message, autogenerate=True)
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gtqa.storage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", help="database URL (default: GTQA_DATABASE_URL, else the embedded SQLite)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("upgrade", help="migrate to a revision").add_argument(
        "revision", nargs="?", default="head"
    )
    commands.add_parser("downgrade", help="migrate back to a revision").add_argument("revision")
    commands.add_parser("current", help="print the revision the database is at")
    commands.add_parser("revision", help="autogenerate a new revision").add_argument(
        "-m", "--message", required=True
    )
    args = parser.parse_args(argv)
    url = args.url or get_settings().database_url
    if args.command == "upgrade":
        upgrade(url, args.revision)
    elif args.command == "downgrade":
        downgrade(url, args.revision)
    elif args.command == "revision":
        new_revision(url, args.message)
    print(f"{make_url(url).render_as_string(hide_password=True)} is at {current_revision(url)}")
