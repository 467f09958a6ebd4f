"""``gtqa jobs``: a review job's chunks, and re-running the failed ones (ops, on the database directly)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli._common import MIGRATE_HELP, prepare_database, session_scope
from cli.submit import enqueue
from cli.voice import fail
from gtqa.settings import get_settings
from gtqa.storage import ChunkStatus, NotFoundError, job_chunks, job_record, requeue_failed_chunks

jobs_app = typer.Typer(help="Review jobs: their chunks, and re-running failed ones.", no_args_is_help=True)


@jobs_app.command("chunks")
def chunks(
    job_id: Annotated[int, typer.Argument(help="the job's id (gtqa submit prints it)")],
    failed: Annotated[bool, typer.Option("--failed", help="only the failed chunks")] = False,
    migrate: Annotated[bool | None, typer.Option(help=MIGRATE_HELP)] = None,
) -> None:
    """One line per chunk of the job: id, place, status, attempts, frames, findings, last error."""
    prepare_database(get_settings(), migrate)
    try:
        with session_scope(get_settings(), read_only=True) as session:
            found = job_chunks(session, job_id, ChunkStatus.failed if failed else None)
    except NotFoundError as exc:
        raise fail(str(exc)) from None
    for c in found:
        error = (c.last_error or "").splitlines()[0] if c.last_error else ""
        print(
            f"chunk {c.id}\tseq {c.seq}\t{c.status.value}\t{c.attempts} attempts\t{c.frame_count} frames"
            f"\t{c.findings_count} findings\t{error}".rstrip()
        )


@jobs_app.command("rerun")
def rerun(
    job_id: Annotated[int, typer.Argument(help="the job's id")],
    migrate: Annotated[bool | None, typer.Option(help=MIGRATE_HELP)] = None,
) -> None:
    """Put the job's failed chunks back to pending with fresh attempts and send them to the workers."""
    settings = get_settings()
    prepare_database(settings, migrate)
    try:
        with session_scope(settings) as session:
            requeued = requeue_failed_chunks(session, job_id)
            total = job_record(session, job_id).chunks_total
    except NotFoundError as exc:
        raise fail(str(exc)) from None
    if not requeued:
        print(f"job {job_id}: no failed chunk to re-run")
        return
    print(f"job {job_id}: chunks {', '.join(map(str, requeued))} back to pending")
    enqueue(job_id, total)
