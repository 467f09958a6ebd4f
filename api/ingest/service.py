"""Ingesting a delivery: read the dataset, refuse what cannot be stored whole, store the batch and its
review job in one transaction, then hand the job to the workers. The storing is
``gtqa.storage.store_delivery``, the path ``gtqa submit`` takes too; this module adds what is the
API's: paths kept under the ingest root, the client's idempotency key and checks, 422s naming the
client's own file names, and the unpacked upload folder removed when nothing was stored.

Blocking (file reading, one big transaction): routes call it from a worker thread. The delivery is
streamed (``open_dataset``) into the transaction slice by slice, and refused, rolled back, once read
to its end when it cannot all be stored: the API holds one slice of it at a time, never the whole.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from api.deps import Dispatcher
from api.errors import ApiError, input_problem, strip_prefix
from api.ingest.paths import resolve_under
from api.schemas.batches import BatchOut, IngestOptions, IngestResult, JobOut
from api.spec_lookup import default_spec, resolve_spec
from gtqa.checks.registry import UnknownCheckError, select
from gtqa.domain import FrameStream, InputFormatError, InputProblem, ProblemLevel
from gtqa.formats import open_dataset
from gtqa.settings import Settings
from gtqa.storage import (
    BatchRecord,
    Delivery,
    IngestError,
    JobRecord,
    RefusedDeliveryError,
    batch_by_idempotency_key,
    batch_jobs,
    mark_finished,
    store_delivery,
)

log = logging.getLogger(__name__)
MAX_REPORTED = 200  # problems listed in a refusal (the count says how many there were)


@dataclass(frozen=True)
class Source:
    """A dataset folder on this machine: ``boundary`` is what its predictions must stay inside, and
    ``shown_as`` the prefix cut from the paths in problems (so clients see their own names)."""

    root: Path
    boundary: Path
    shown_as: str
    owned: Path | None = None  # a folder made for this ingest, removed if it fails


def replay(sessions: sessionmaker[Session], key: str | None) -> IngestResult | None:
    """What an earlier request with this ``Idempotency-Key`` made (its batch and first job), if any: a
    client retrying after a lost response gets it back instead of a second batch."""
    if not key:
        return None
    with sessions() as session:
        batch = batch_by_idempotency_key(session, key)
        jobs = batch_jobs(session, batch.id) if batch is not None else []
    if batch is None or not jobs:
        return None
    return IngestResult(batch=BatchOut.of(batch), job=JobOut.of(jobs[0]), enqueued=False, replayed=True)


def ingest(
    settings: Settings,
    sessions: sessionmaker[Session],
    dispatcher: Dispatcher,
    source: Source,
    options: IngestOptions,
    key: str | None = None,
) -> IngestResult:
    try:
        batch, job = _store(settings, sessions, source, options, key)  # its source files kept
    except IngestError:
        again = replay(sessions, key)  # a concurrent request with the same key won the unique index
        if again is None:
            raise
        return again
    error = enqueue(dispatcher, job.id)  # after the commit: a worker must find the job
    return IngestResult(
        batch=BatchOut.of(batch), job=JobOut.of(job), enqueued=error is None, enqueue_error=error
    )


def _store(
    settings: Settings,
    sessions: sessionmaker[Session],
    source: Source,
    options: IngestOptions,
    key: str | None,
) -> tuple[BatchRecord, JobRecord]:
    try:
        _check_checks(options)
        stream = read_dataset(source, options)
        spec = resolve_spec(settings, options.spec) if options.spec else default_spec(settings, stream.format)
        try:
            stored = store_delivery(
                sessions, stream, spec, home=settings.home, chunk_size=settings.chunk_size,
                delivery=_delivery(source, options, key),
                refuse=None if options.allow_problems else ProblemLevel.error,
            )  # fmt: skip
        except RefusedDeliveryError as exc:
            raise _refusal(exc, source) from None
        if source.owned is not None:
            mark_finished(source.owned)
        return stored
    except BaseException:
        if source.owned is not None:
            shutil.rmtree(source.owned, ignore_errors=True)
        raise


def _delivery(source: Source, options: IngestOptions, key: str | None) -> Delivery:
    return Delivery(
        vendor=options.vendor, team=options.team, due_date=options.due_date, source_path=str(source.root),
        idempotency_key=key, job_options=_job_options(options),
    )  # fmt: skip


def enqueue(dispatcher: Dispatcher, job_id: int) -> str | None:
    """Hand a stored job to the workers; the error, if that failed (the job stays pending, and
    ``POST /jobs/{id}/enqueue`` sends it again)."""
    try:
        dispatcher.enqueue_job(job_id)
    except Exception as exc:
        log.exception("could not enqueue review job %d", job_id)
        return f"{type(exc).__name__}: {exc}"
    return None


def read_dataset(source: Source, options: IngestOptions) -> FrameStream:
    """The delivery as a stream of frames (read as the ingest consumes it)."""
    base = source.root if source.root.is_dir() else source.root.parent
    predictions = [resolve_under(source.boundary, base, p, "predictions") for p in options.predictions]
    try:
        stream = open_dataset(source.root, options.format, predictions)
    except InputFormatError as exc:
        raise input_problem(exc, source.shown_as) from None
    return stream.renamed(options.dataset) if options.dataset else stream


def _refusal(exc: RefusedDeliveryError, source: Source) -> ApiError:
    if not exc.problems:
        return ApiError(422, "invalid_dataset", "the dataset has no frames")
    details = [_shown(p, source.shown_as) for p in exc.problems[:MAX_REPORTED]]
    message = f"{len(exc.problems)} malformed record(s); nothing was stored (first: {details[0]['where']})"
    return ApiError(422, "invalid_dataset", message, details=details)


def _shown(problem: InputProblem, prefix: str) -> dict[str, object]:
    path = strip_prefix(problem.path, prefix)
    where = f"{path}:{problem.line}" if problem.line else path
    return {"path": path, "line": problem.line, "where": where, "message": problem.message}


def _check_checks(options: IngestOptions) -> None:
    try:
        select(options.checks, exclude=options.exclude)
    except UnknownCheckError as exc:
        raise ApiError(422, "unknown_check", str(exc)) from None


def _job_options(options: IngestOptions) -> dict[str, object]:
    chosen: dict[str, object] = {"exclude": list(options.exclude)}
    if options.checks:
        chosen["checks"] = list(options.checks)
    return chosen
