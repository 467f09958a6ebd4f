"""The ``gtqa`` command: every command on one typer app, and ``main()``, the console script.

Conventions shared by every command (output streams, errors and exit statuses, ``--predictions``,
boolean options): ``cli.voice`` and docs/cli.md.
"""

from __future__ import annotations

import sys

import typer

from cli.calibrate import calibrate
from cli.calibrations import calibrations_app
from cli.demo import demo
from cli.evals import evals_app
from cli.export import export
from cli.gold import gold_app
from cli.jobs import jobs_app
from cli.scan import list_checks, scan, show_spec
from cli.serve import api, serve
from cli.submit import submit
from cli.users import users_app
from cli.voice import INPUT_ERROR, fail
from cli.workers import beat, worker

app = typer.Typer(
    name="gtqa",
    help="Agent-assisted QA review of autonomous-driving ground truth.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(evals_app, name="evals")
for name, command in (
    ("calibrate", calibrate), ("worker", worker), ("beat", beat), ("submit", submit), ("api", api),
    ("serve", serve), ("scan", scan), ("demo", demo), ("checks", list_checks), ("spec", show_spec),
    ("export", export),
):  # fmt: skip
    app.command(name)(command)
app.add_typer(users_app, name="users")
app.add_typer(jobs_app, name="jobs")
app.add_typer(calibrations_app, name="calibrations")
app.add_typer(gold_app, name="gold")


def main() -> None:
    """The console script. A file the system refuses (missing, not writable, a folder where a file is
    wanted) is the user's to mend: ``error: <file>: <reason>`` and exit status 2, not a traceback."""
    try:
        app()
    except OSError as exc:
        if exc.filename is None:
            raise
        fail(f"{exc.filename}: {exc.strerror or exc}")
        sys.exit(INPUT_ERROR)
