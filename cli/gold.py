"""``gtqa gold``: seed known-answer (gold) items into a review job's stream (ops, on the database
directly; ``POST /api/v1/queue/gold`` does the same over the API)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli._common import MIGRATE_HELP, prepare_database, session_scope
from cli.voice import fail, fail_input
from gtqa.domain import InputFormatError
from gtqa.formats.gold import read_gold
from gtqa.settings import get_settings
from gtqa.storage import NotFoundError, seed_gold

gold_app = typer.Typer(help="Gold (known-answer) items that score the auditors.", no_args_is_help=True)


@gold_app.command("seed")
def seed(
    answers: Annotated[
        Path, typer.Argument(help="gtqa audit JSONL, or CSV with frame,label,verdict[,issue_type]")
    ],
    job_id: Annotated[int, typer.Option("--job", help="the job whose stream the items join")],
    by: Annotated[str, typer.Option(help="who seeded them (kept with each answer)")] = "",
    migrate: Annotated[bool | None, typer.Option(help=MIGRATE_HELP)] = None,
) -> None:
    """Queue one gold item per known answer, one every GTQA_GOLD_EVERY items; prints the item ids. All
    or none: a bad line or a label the job's batch lacks stops it with the file and line."""
    settings = get_settings()
    try:
        parsed = read_gold(answers)
    except InputFormatError as exc:
        raise fail_input(exc) from None
    prepare_database(settings, migrate)
    try:
        with session_scope(settings) as session:
            ids = seed_gold(session, job_id, parsed, seeded_by=by, every=settings.gold_every)
    except NotFoundError as exc:
        raise fail(str(exc)) from None
    for item_id in ids:
        print(item_id)
