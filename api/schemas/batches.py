"""Batches (a dataset delivery) and review jobs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.common import NO_NUL, Short
from gtqa.domain import InputProblem, dropped_counts
from gtqa.storage import BatchRecord, ChunkRecord, ChunkStatus, JobRecord, JobStatus

Format = Literal["kitti", "kitti-tracking", "coco", "bdd", "av2"]
RelPath = Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=NO_NUL)]
CheckId = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=NO_NUL)]


class IngestOptions(BaseModel):
    """What describes a delivery, whichever way its files arrive."""

    model_config = ConfigDict(extra="forbid")

    format: Format | None = Field(default=None, description="the labels' format; recognised if omitted")
    dataset: Short | None = Field(default=None, description="dataset name; the folder's if omitted")
    vendor: Short = ""
    team: Short = Field(default="", description="the labelling team")
    due_date: date | None = None
    spec: Short | None = Field(
        default=None, description="spec hash, hash prefix (8+) or name; the server's default if omitted"
    )
    predictions: list[RelPath] = Field(
        default_factory=list,
        max_length=16,
        description="detector outputs, as paths relative to the dataset folder",
    )
    checks: list[CheckId] | None = Field(default=None, max_length=100, description="run only these")
    exclude: list[CheckId] = Field(default_factory=list, max_length=100, description="skip these checks")
    allow_problems: bool = Field(
        default=False,
        description="store the readable records of a dataset with malformed ones (listed as problems); "
        "by default any malformed record rejects the whole batch",
    )


class PathIngest(IngestOptions):
    path: RelPath = Field(description="the dataset folder, relative to the server's ingest root")


class BatchOut(BaseModel):
    id: int
    dataset: str
    vendor: str
    team: str
    format: str
    spec_version: str
    spec_hash: str
    due_date: date | None
    frame_count: int
    label_count: int
    problems: list[InputProblem]
    dropped: dict[str, int] = Field(
        description="what reading the delivery skipped (stored with the batch's problems): labels, "
        "frames, predictions (and records of no known kind); empty when nothing was dropped"
    )
    created_at: datetime

    @classmethod
    def of(cls, record: BatchRecord) -> BatchOut:
        return cls(
            id=record.id, dataset=record.dataset, vendor=record.vendor, team=record.team,
            format=record.format, spec_version=record.spec_version, spec_hash=record.spec_hash,
            due_date=record.due_date, frame_count=record.frame_count, label_count=record.label_count,
            problems=list(record.problems), dropped=dropped_counts(record.problems),
            created_at=record.created_at,
        )  # fmt: skip


class JobOut(BaseModel):
    id: int
    batch_id: int
    spec_hash: str
    status: JobStatus
    chunk_size: int
    options: dict[str, object]
    chunks_total: int
    chunks_done: int
    chunks_failed: int
    frames_total: int
    frames_done: int
    findings_count: int
    progress: float = Field(description="share of frames reviewed, 0..1")
    created_at: datetime
    finished_at: datetime | None
    scoring: str | None = Field(
        default=None,
        description="GET /jobs/{id} only: how the workers score the job's flags (the spec's default "
        "calibration, or its priors and why: when a calibration's rules changed, which rule, and the refit)",
    )

    @classmethod
    def of(cls, job: JobRecord) -> JobOut:
        progress = job.frames_done / job.frames_total if job.frames_total else 1.0
        return cls(
            id=job.id, batch_id=job.batch_id, spec_hash=job.spec_hash, status=job.status,
            chunk_size=job.chunk_size, options=dict(job.options), chunks_total=job.chunks_total,
            chunks_done=job.chunks_done, chunks_failed=job.chunks_failed, frames_total=job.frames_total,
            frames_done=job.frames_done, findings_count=job.findings_count, progress=progress,
            created_at=job.created_at, finished_at=job.finished_at,
        )  # fmt: skip


class ChunkOut(BaseModel):
    id: int
    seq: int = Field(description="the chunk's place in its job, from 0")
    status: ChunkStatus
    frame_count: int
    attempts: int = Field(description="claims so far (GTQA_CHUNK_MAX_ATTEMPTS bounds them)")
    findings_count: int
    last_error: str | None = Field(description="why the last try ended, if it failed")
    finished_at: datetime | None

    @classmethod
    def of(cls, chunk: ChunkRecord) -> ChunkOut:
        return cls(
            id=chunk.id, seq=chunk.seq, status=chunk.status, frame_count=chunk.frame_count,
            attempts=chunk.attempts, findings_count=chunk.findings_count, last_error=chunk.last_error,
            finished_at=chunk.finished_at,
        )  # fmt: skip


class Rerun(BaseModel):
    job: JobOut
    requeued: list[int] = Field(description="ids of the failed chunks put back to pending")
    enqueued: bool = Field(description="the job was handed to the workers (else: POST /jobs/{id}/enqueue)")


class IngestResult(BaseModel):
    batch: BatchOut
    job: JobOut
    enqueued: bool = Field(description="the job was handed to the workers (else: POST /jobs/{id}/enqueue)")
    enqueue_error: str | None = None
    replayed: bool = Field(
        default=False, description="an earlier request with this Idempotency-Key made the batch (200)"
    )


class Enqueued(BaseModel):
    job: JobOut
    enqueued: bool


class QueueBuilt(BaseModel):
    job_id: int
    flags: int = Field(description="items made from findings")
    spot_checks: int = Field(description="items made from unflagged labels")
    removed: int = Field(description="pending items the rebuild dropped")
