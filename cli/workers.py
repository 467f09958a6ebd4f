"""The Celery processes: ``gtqa worker`` (reviews chunks) and ``gtqa beat`` (the reconciler's schedule);
see ``workers/``.

The database: with the embedded SQLite default ``gtqa worker`` migrates it itself (one machine, nothing
else would); a PostgreSQL database is migrated at deploy time (``python -m gtqa.storage upgrade``; the
compose file's ``migrate`` service), and the worker refuses to start on an old schema.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from cli._common import MIGRATE_HELP, prepare_database
from gtqa.settings import Settings, get_settings


def worker(
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", help="child processes (default: CPUs)")
    ] = None,
    queues: Annotated[
        str, typer.Option("--queues", "-Q", help="queues to consume")
    ] = "gtqa.review,gtqa.control",
    name: Annotated[str | None, typer.Option("--name", "-n", help="node name (default: gtqa@host)")] = None,
    loglevel: Annotated[
        str, typer.Option("--loglevel", "-l", help="Celery's log level: debug, info, warning, error")
    ] = "info",
    with_beat: Annotated[
        bool, typer.Option("--beat", help="also run the reconciler's schedule in this worker (one machine)")
    ] = False,
    migrate: Annotated[bool | None, typer.Option(help=MIGRATE_HELP)] = None,
) -> None:
    """Run a Celery worker reviewing chunks (prefork: one process per chunk at a time)."""
    settings = get_settings()
    prepare_database(settings, migrate)
    from workers.app import get_app
    from workers.broker import is_filesystem_broker

    argv = ["worker", "--pool=prefork", f"--loglevel={loglevel}", "-Q", queues]
    argv += ["-n", name or f"gtqa@{socket.gethostname()}"]
    if concurrency is not None:
        argv += ["-c", str(concurrency)]
    if with_beat:
        argv += ["-B", "--schedule", str(_beat_schedule(settings))]
    if is_filesystem_broker(settings):
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    get_app().worker_main(argv)


def beat(
    loglevel: Annotated[
        str, typer.Option("--loglevel", "-l", help="Celery's log level: debug, info, warning, error")
    ] = "info",
) -> None:
    """Send the reconciler every GTQA_RECONCILE_INTERVAL_S (run exactly one per deployment)."""
    from workers.app import get_app

    get_app().start(["beat", f"--loglevel={loglevel}", "--schedule", str(_beat_schedule(get_settings()))])


def _beat_schedule(settings: Settings) -> Path:
    home = settings.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home / "celerybeat-schedule"
