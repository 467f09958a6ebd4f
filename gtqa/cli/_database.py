"""The database check every service command makes before it starts.

The embedded SQLite database is migrated by the commands themselves (one machine, nothing else would);
a PostgreSQL database is migrated at deploy time (``python -m gtqa.storage upgrade``, the compose file's
``migrate`` service) unless ``--migrate`` is given, and the commands refuse to start on an old schema.
"""

from __future__ import annotations

import typer
from rich.console import Console
from sqlalchemy.engine import make_url

from gtqa.settings import Settings

MIGRATE_HELP = "migrate the database first (default: only the embedded SQLite one)"

console = Console(stderr=True)


def prepare_database(settings: Settings, migrate: bool | None) -> None:
    from gtqa.storage import current_revision, head_revision, upgrade

    url = settings.database_url
    if migrate if migrate is not None else make_url(url).get_backend_name() == "sqlite":
        upgrade(url)
        return
    at, head = current_revision(url), head_revision()
    if at != head:
        shown = make_url(url).render_as_string(hide_password=True)
        console.print(
            f"[red]the database {shown} is at revision {at}, not {head}:[/red] run "
            "`python -m gtqa.storage upgrade` (or pass --migrate)",
            soft_wrap=True,
        )
        raise typer.Exit(2)
