"""What several commands share: the spec they work under, input problems shown, and the database check
every service command makes before it starts.

The embedded SQLite database is migrated by the commands themselves (one machine, nothing else would);
a PostgreSQL database is migrated at deploy time (``python -m gtqa.storage upgrade``, the compose file's
``migrate`` service) unless ``--migrate`` is given, and the commands refuse to start on an old schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from sqlalchemy.engine import make_url

from gtqa.settings import Settings, get_settings
from gtqa.spec import CompiledSpec, SpecError, load_spec

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

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


def spec_or_exit(path: Path | None) -> CompiledSpec:
    """The spec at ``path``, else ``GTQA_SPEC_PATH``, else the shipped one; exit 2 with its file:line
    errors when it does not compile."""
    chosen = path or get_settings().spec_path
    try:
        return load_spec(str(chosen) if chosen else None)
    except SpecError as exc:
        console.print(f"[red]invalid spec[/red]\n{exc}")
        raise typer.Exit(2) from None


def report_problems(problems: list[str], shown: int = 20) -> None:
    """Input records a reader skipped, the first ``shown`` of them."""
    for problem in problems[:shown]:
        console.print(f"[yellow]skipped: {problem}[/yellow]", highlight=False, soft_wrap=True)
    if len(problems) > shown:
        console.print(f"[yellow]… and {len(problems) - shown} more input problems[/yellow]")


@contextmanager
def session_scope(settings: Settings, *, read_only: bool = False) -> Iterator[Session]:
    """One session on an engine of its own (one connection, disposed of at the end): a transaction that
    commits when the block ends without an error, or, ``read_only``, a read that never writes."""
    from gtqa.storage import engine_from_settings, make_session_factory

    engine = engine_from_settings(settings, pool_size=1)
    try:
        sessions = make_session_factory(engine, read_only=read_only)
        with sessions() if read_only else sessions.begin() as session:
            yield session
    finally:
        engine.dispose()
