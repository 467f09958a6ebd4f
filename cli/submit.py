"""``gtqa submit``: ingest a dataset as a batch, create its review job and send it to the workers (what
``gtqa serve`` does for each of its datasets, and what the API's ingest does for a client).

The database: with the embedded SQLite default the command migrates it itself (one machine, nothing
else would); a PostgreSQL database is migrated at deploy time (``python -m gtqa.storage upgrade``; the
compose file's ``migrate`` service), and the command refuses to start on an old schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli._common import (
    MIGRATE_HELP,
    PredictionsOpt,
    predictions_per_dataset,
    prepare_database,
    session_factory,
    spec_or_exit,
)
from cli.voice import fail, fail_input, note, report_problems, warn
from gtqa.domain import (
    FrameStream,
    InputFormatError,
    InputProblem,
    ProblemLevel,
    dropped_counts,
    dropped_summary,
)
from gtqa.settings import Settings, get_settings
from gtqa.spec import CompiledSpec

if TYPE_CHECKING:
    from gtqa.storage import BatchRecord, Delivery, IngestError, JobRecord


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
    from gtqa.storage import Delivery, IngestError

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
        delivery = Delivery(vendor=vendor, team=team, due_date=due_date, source_path=str(dataset))
        batch, job = store_batch(settings, data, compiled, delivery, strict=strict)
    except IngestError as exc:
        _report(data.problems, exc)
        why = " (--strict)" if strict and data.problems else ""  # the reading's problems refused it
        raise fail(f"{dataset}: {exc}{why}{NOT_IMPORTED}") from None
    _report(data.problems)
    note(
        f"batch {batch.id}: {batch.dataset}, {batch.frame_count} frames, {batch.label_count} labels "
        f"({len(batch.problems)} input problems) under spec {compiled.name} {compiled.hash[:12]}"
    )
    enqueue(job.id, job.chunks_total)


def store_batch(
    settings: Settings, data: FrameStream, compiled: CompiledSpec, delivery: Delivery, *, strict: bool = False
) -> tuple[BatchRecord, JobRecord]:
    """Store ``data`` as one batch with its review job (``store_delivery``: both or nothing; an
    ``IngestError`` leaves the database as it was). Records a reader skipped are kept with the batch
    as its problems or, ``strict``, make the whole dataset refused, as any unstorable record does."""
    from gtqa.storage import store_delivery

    with session_factory(settings) as sessions:
        return store_delivery(
            sessions, data, compiled, home=settings.home, chunk_size=settings.chunk_size, delivery=delivery,
            refuse=ProblemLevel.warning if strict else None,
        )  # fmt: skip


def _report(problems: Sequence[InputProblem], refused: IngestError | None = None) -> None:
    """The reading's problems, then those only the refusal knows (records that cannot be stored)."""
    from gtqa.storage import RefusedDeliveryError

    report_problems(problems)
    if isinstance(refused, RefusedDeliveryError):
        report_problems([p for p in refused.problems if p not in problems])
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
