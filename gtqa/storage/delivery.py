"""Storing a delivery: the one path from a read dataset to a stored batch and its review job, taken by
``gtqa submit``, ``gtqa serve`` and the API's ingest alike, so that they refuse, roll back and keep
sources the same way.

The delivery is streamed into one transaction (``ingest_batch`` takes it a slice at a time) through a
``Screen``; whether it can be kept is known only once it has been read to its end, so a refusal is
raised inside the transaction and rolls the batch back. After the commit, the label files a lossless
export needs are kept under ``<home>/sources``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import FrameStream, InputProblem, ProblemLevel
from gtqa.formats.export.snapshot import keep_source
from gtqa.spec import CompiledSpec
from gtqa.spec.store import pin_spec, spec_folder
from gtqa.storage.errors import IngestError
from gtqa.storage.ingest import ingest_batch
from gtqa.storage.jobs import create_review_job
from gtqa.storage.limits import Screen
from gtqa.storage.records import BatchRecord, JobRecord

log = logging.getLogger(__name__)


class RefusedDeliveryError(IngestError):
    """Nothing was stored: the delivery has no frame, or ``problems`` (file and line of each) that the
    caller chose not to accept. An ``IngestError``, so callers that only report it need no new case."""

    def __init__(self, message: str, problems: tuple[InputProblem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class Delivery:
    """Who delivered the batch and how its job is to run (stored with the batch and the job).
    ``idempotency_key`` (unique) lets a client's retry find the batch again; ``job_options`` (e.g.
    ``{"checks": [...], "exclude": [...]}``) are kept for the workers."""

    vendor: str = ""
    team: str = ""
    due_date: date | None = None
    source_path: str = ""
    idempotency_key: str | None = None
    job_options: dict[str, Any] = field(default_factory=dict)


def store_delivery(
    sessions: sessionmaker[Session],
    stream: FrameStream,
    spec: CompiledSpec,
    *,
    home: Path,
    chunk_size: int,
    delivery: Delivery | None = None,
    refuse: ProblemLevel | None = None,
) -> tuple[BatchRecord, JobRecord]:
    """Store ``stream`` as one batch with its review job, in one transaction: both, or nothing.

    Refused (``RefusedDeliveryError``, nothing stored) when no frame could be read, when a record cannot be
    stored as read (``Screen``), and when a reading problem is at ``refuse``'s level or worse (``error``:
    a skipped record; ``warning``: any problem; None: problems are kept with the batch, not refused).
    ``spec`` is pinned under ``home`` so that the workers can resolve the job's spec by hash."""
    delivery = delivery or Delivery()
    pin_spec(spec, spec_folder(home))
    screen = Screen(stream, allow_problems=refuse is None)
    with sessions.begin() as session:  # the batch and its job, or neither
        batch = ingest_batch(
            session, screen.stream, spec, vendor=delivery.vendor, team=delivery.team,
            due_date=delivery.due_date, source_path=delivery.source_path,
            idempotency_key=delivery.idempotency_key,
        )  # fmt: skip
        _check(screen, refuse)  # raising here rolls the batch back
        job = create_review_job(
            session, batch.id, spec_hash=spec.hash, chunk_size=chunk_size, options=delivery.job_options
        )
    keep_batch_source(home, Path(stream.root), batch)
    return batch, job


def _check(screen: Screen, refuse: ProblemLevel | None) -> None:
    if not screen.frames:
        raise RefusedDeliveryError("no frame could be read")
    refused = screen.refusals()
    if refuse == ProblemLevel.warning:  # errors are among the refusals already
        refused += [p for p in screen.stream.problems if p.level == ProblemLevel.warning]
    if refused:
        first = refused[0]
        where = f"{first.path}:{first.line}" if first.line else first.path
        raise RefusedDeliveryError(
            f"{len(refused)} input problem(s); nothing was stored (first: {where})", tuple(refused)
        )


def kept_sources(home: Path) -> Path:
    """Where the label files of every stored delivery are kept, content-addressed (``<home>/sources``)."""
    return home / "sources"


def keep_batch_source(home: Path, root: Path, batch: BatchRecord) -> None:
    """Keep the files a lossless export of the batch needs. A failure is logged, not fatal: the batch is
    stored, and its export still works while the delivery's folder exists (it refuses, never degrades,
    once neither is there)."""
    try:
        keep_source(root, batch.format, kept_sources(home), str(batch.id))
    except OSError:
        log.exception("could not keep the source files of batch %d", batch.id)
