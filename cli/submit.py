"""``gtqa submit``: ingest a dataset as a batch, create its review job and send it to the workers (what
``gtqa serve`` does for each of its datasets, and what the API's ingest does for a client).

The database: with the embedded SQLite default the command migrates it itself (one machine, nothing
else would); a PostgreSQL database is migrated at deploy time (``python -m gtqa.storage upgrade``; the
compose file's ``migrate`` service), and the command refuses to start on an old schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli._common import (
    MIGRATE_HELP,
    PredictionsOpt,
    predictions_per_dataset,
    prepare_database,
    session_scope,
    spec_or_exit,
)
from cli.voice import fail, fail_input, note, report_problems, warn
from gtqa.domain import Dataset, FrameStream, InputFormatError, InputProblem, dropped_counts, dropped_summary
from gtqa.settings import Settings, get_settings
from gtqa.spec import CompiledSpec

if TYPE_CHECKING:
    from gtqa.storage import BatchRecord, JobRecord


NOT_IMPORTED = " (not imported)"


def submit(
    dataset: Annotated[Path, typer.Argument(help="dataset folder or file")],
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="kitti, kitti-tracking, coco or bdd (default: recognised)"),
    ] = None,
    predictions: PredictionsOpt = None,
    vendor: Annotated[str, typer.Option(help="the labelling vendor")] = "",
    team: Annotated[str, typer.Option(help="the labelling team")] = "",
    due: Annotated[str | None, typer.Option(help="due date, YYYY-MM-DD")] = None,
    spec: Annotated[
        Path | None,
        typer.Option(help="QA spec (default: GTQA_SPEC_PATH, else the shipped spec for the data's format)"),
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="refuse the dataset when any record cannot be read (default: skip it)")
    ] = False,
    migrate: Annotated[bool | None, typer.Option(help=MIGRATE_HELP)] = None,
) -> None:
    """Ingest a dataset as one batch (all of it or nothing), create its review job and queue it.

    Records a reader cannot read are skipped and reported (kept with the batch as its input problems),
    or, with --strict, make the whole dataset refused; a dataset with no readable frame is refused."""
    from gtqa.formats import open_dataset
    from gtqa.storage import IngestError

    settings = get_settings()
    due_date = _due(due)
    (preds,) = predictions_per_dataset(predictions or [], 1)
    try:
        data = open_dataset(dataset, format, list(preds))  # read while it is stored, a slice at a time
    except InputFormatError as exc:
        raise fail_input(exc, NOT_IMPORTED) from None
    compiled = spec_or_exit(spec, data.format)
    prepare_database(settings, migrate)
    try:
        batch, job = store_batch(
            settings, data, compiled, vendor=vendor, team=team, due_date=due_date, source_path=str(dataset),
            check=refusal(dataset, strict=strict),
        )  # fmt: skip
    except IngestError as exc:
        _report(data.problems)
        raise fail(f"{exc}{NOT_IMPORTED}") from None
    _report(data.problems)
    note(
        f"batch {batch.id}: {batch.dataset}, {batch.frame_count} frames, {batch.label_count} labels "
        f"({len(batch.problems)} input problems) under spec {compiled.name} {compiled.hash[:12]}"
    )
    enqueue(job.id, job.chunks_total)


def store_batch(
    settings: Settings,
    data: Dataset | FrameStream,
    compiled: CompiledSpec,
    *,
    vendor: str = "",
    team: str = "",
    due_date: date | None = None,
    source_path: str = "",
    check: Callable[[BatchRecord], None] | None = None,
) -> tuple[BatchRecord, JobRecord]:
    """Ingest ``data`` as one batch and create its review job, in one transaction (both, or nothing:
    an ``IngestError`` leaves the database as it was). ``check`` sees the stored batch before the
    commit and refuses it by raising ``IngestError`` (a stream's problems are known only once read)."""
    from gtqa.spec.store import pin_spec, spec_folder
    from gtqa.storage import create_review_job, ingest_batch

    pin_spec(compiled, spec_folder(settings.home))  # kept, so that workers can resolve the job's spec by hash
    with session_scope(settings) as session:
        batch = ingest_batch(
            session, data, compiled, vendor=vendor, team=team, due_date=due_date, source_path=source_path
        )
        if check is not None:
            check(batch)
        job = create_review_job(session, batch.id, spec_hash=compiled.hash, chunk_size=settings.chunk_size)
    from api.ingest.service import keep_batch_source

    keep_batch_source(settings, Path(data.root), batch)  # what a lossless export needs, kept
    return batch, job


def refusal(dataset: Path | str, *, strict: bool = False) -> Callable[[BatchRecord], None]:
    """Refuse a batch with no frame, or, ``strict``, with any input problem (``store_batch``'s
    ``check``: a stream's problems are known only once it has been read, inside the transaction)."""

    def check(batch: BatchRecord) -> None:
        from gtqa.storage import IngestError

        if not batch.frame_count:
            raise IngestError(f"{dataset}: no frame could be read")
        if strict and batch.problems:
            raise IngestError(f"{dataset}: {len(batch.problems)} input problems (--strict)")

    return check


def _report(problems: Sequence[InputProblem]) -> None:
    report_problems(problems)
    if dropped := dropped_counts(problems):
        warn(f"dropped while reading: {dropped_summary(dropped)}")


def enqueue(job_id: int, chunks: int) -> None:
    from kombu.exceptions import OperationalError

    from workers.dispatch import enqueue_job

    try:
        sent = enqueue_job(job_id)
    except OperationalError as exc:
        warn(
            f"job {job_id} is stored but the broker is unreachable ({exc}); the reconciler will send its "
            "chunks once it is back"
        )
        return
    print(f"job {job_id}: {sent} of {chunks} chunks sent to the workers")


def _due(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"--due {value!r}: give a date as YYYY-MM-DD") from None
