"""Review jobs and their chunks: the work queue of the workers, with leases.

A job splits a batch's frames (reading order) into chunks of ``chunk_size``. A worker claims a chunk by
id with a lease (owner, seconds), reviews its frames, and finishes it by replacing the chunk's earlier
findings in one transaction, so running a chunk twice leaves one set of findings. A lease is lost when
another owner claims the chunk or ``expire_leases`` (the reconciler) returns it to pending; a worker
that lost its lease gets a ``LeaseError`` and must drop its result. Times come from the application
clock (``now`` may be passed in); keep the machines' clocks in sync (NTP), leases are minutes long.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session

from gtqa.domain import Finding
from gtqa.scoring import priority
from gtqa.spec import CompiledSpec
from gtqa.storage._sql import SYNC
from gtqa.storage.errors import LeaseError, NotFoundError
from gtqa.storage.mapping import finding_values, to_finding
from gtqa.storage.models import BatchRow, FindingRow, FrameRow, JobChunkRow, LabelRow, ReviewJobRow
from gtqa.storage.records import ChunkLease, ChunkRecord, ChunkStatus, ExpiredLeases, JobRecord, JobStatus
from gtqa.storage.types import utcnow


def create_review_job(
    session: Session,
    batch_id: int,
    *,
    spec_hash: str,
    chunk_size: int,
    options: dict[str, Any] | None = None,
) -> JobRecord:
    """A job reviewing every frame of the batch under ``spec_hash``, split into chunks. ``options``
    (e.g. ``{"checks": [...], "exclude": [...]}``) is kept for the workers to read."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, not {chunk_size}")
    keys = list(
        session.scalars(select(FrameRow.key).where(FrameRow.batch_id == batch_id).order_by(FrameRow.position))
    )
    if not keys and session.get(BatchRow, batch_id) is None:
        raise NotFoundError(f"no batch {batch_id}")
    job = ReviewJobRow(
        batch_id=batch_id,
        spec_hash=spec_hash,
        chunk_size=chunk_size,
        options=options or {},
        chunks_total=-(-len(keys) // chunk_size),
        frames_total=len(keys),
    )
    session.add(job)
    session.flush()
    chunks = [keys[i : i + chunk_size] for i in range(0, len(keys), chunk_size)]
    if chunks:
        rows = [
            {"job_id": job.id, "seq": n, "frame_keys": c, "frame_count": len(c)} for n, c in enumerate(chunks)
        ]
        session.execute(insert(JobChunkRow), rows)
    else:  # nothing to review: done at once
        job.status, job.finished_at = JobStatus.done, utcnow()
    session.flush()
    return job_record(session, job.id)


def job_record(session: Session, job_id: int) -> JobRecord:
    job = session.get(ReviewJobRow, job_id, populate_existing=True)
    if job is None:
        raise NotFoundError(f"no review job {job_id}")
    return _job_record(job)


def list_jobs(
    session: Session, *, batch_id: int | None, status: JobStatus | None, limit: int, offset: int
) -> tuple[list[JobRecord], int]:
    """A page of jobs (of one batch, in one status), newest first, and the number of matches."""
    where = []
    if batch_id is not None:
        where.append(ReviewJobRow.batch_id == batch_id)
    if status is not None:
        where.append(ReviewJobRow.status == status)
    total = session.scalar(select(func.count(ReviewJobRow.id)).where(*where)) or 0
    rows = session.scalars(
        select(ReviewJobRow).where(*where).order_by(ReviewJobRow.id.desc()).limit(limit).offset(offset)
    )
    return [_job_record(row) for row in rows], total


def _job_record(job: ReviewJobRow) -> JobRecord:
    return JobRecord(
        id=job.id,
        batch_id=job.batch_id,
        spec_hash=job.spec_hash,
        status=job.status,
        chunk_size=job.chunk_size,
        options=dict(job.options),
        chunks_total=job.chunks_total,
        chunks_done=job.chunks_done,
        chunks_failed=job.chunks_failed,
        frames_total=job.frames_total,
        frames_done=job.frames_done,
        findings_count=job.findings_count,
        created_at=job.created_at,
        finished_at=job.finished_at,
    )


def batch_jobs(session: Session, batch_id: int) -> list[JobRecord]:
    """The review jobs of a batch, oldest first."""
    query = select(ReviewJobRow.id).where(ReviewJobRow.batch_id == batch_id).order_by(ReviewJobRow.id)
    return [job_record(session, job_id) for job_id in session.scalars(query)]


def chunk_ids(session: Session, job_id: int, status: ChunkStatus | None = ChunkStatus.pending) -> list[int]:
    """Ids of a job's chunks (pending ones by default): what the enqueuer sends to the workers."""
    query = select(JobChunkRow.id).where(JobChunkRow.job_id == job_id).order_by(JobChunkRow.seq)
    if status is not None:
        query = query.where(JobChunkRow.status == status)
    return list(session.scalars(query))


def claim_chunk(
    session: Session,
    chunk_id: int,
    owner: str,
    *,
    lease_s: float,
    max_attempts: int = 3,
    now: datetime | None = None,
) -> ChunkLease | None:
    """Lease a pending chunk (or one whose lease expired) to ``owner``; None when it is not there to take
    (done, failed, leased by someone else, or out of attempts): the task then has nothing to do."""
    now = now or utcnow()
    expires = now + timedelta(seconds=lease_s)
    claimable = or_(
        JobChunkRow.status == ChunkStatus.pending,
        and_(JobChunkRow.status == ChunkStatus.running, JobChunkRow.lease_expires_at <= now),
    )
    stmt = (
        update(JobChunkRow)
        .where(JobChunkRow.id == chunk_id, claimable, JobChunkRow.attempts < max_attempts)
        .values(
            status=ChunkStatus.running,
            lease_owner=owner,
            lease_expires_at=expires,
            attempts=JobChunkRow.attempts + 1,
            started_at=now,
        )
        .returning(JobChunkRow.job_id, JobChunkRow.seq, JobChunkRow.frame_keys, JobChunkRow.attempts)
        .execution_options(**SYNC)
    )
    row = session.execute(stmt).one_or_none()
    if row is None:
        return None
    job_id, seq, keys, attempts = row
    session.execute(
        update(ReviewJobRow)
        .where(ReviewJobRow.id == job_id, ReviewJobRow.status == JobStatus.pending)
        .values(status=JobStatus.running, started_at=now)
        .execution_options(**SYNC)
    )
    batch_id, spec_hash = session.execute(
        select(ReviewJobRow.batch_id, ReviewJobRow.spec_hash).where(ReviewJobRow.id == job_id)
    ).one()
    return ChunkLease(chunk_id, job_id, batch_id, seq, tuple(keys), spec_hash, owner, expires, attempts)


def renew_chunk_lease(
    session: Session, chunk_id: int, owner: str, *, lease_s: float, now: datetime | None = None
) -> datetime:
    """Extend a held lease (a heartbeat for long chunks); the new expiry."""
    now = now or utcnow()
    expires = now + timedelta(seconds=lease_s)
    done = session.execute(
        update(JobChunkRow)
        .where(*_held(chunk_id, owner))
        .values(lease_expires_at=expires)
        .returning(JobChunkRow.id)
        .execution_options(**SYNC)
    ).one_or_none()
    if done is None:
        raise LeaseError(_lost(session, chunk_id, owner))
    return expires


def finish_chunk(
    session: Session,
    chunk_id: int,
    owner: str,
    findings: Sequence[Finding],
    spec: CompiledSpec,
    *,
    calibration_version: int | None = None,
    now: datetime | None = None,
) -> int:
    """Replace the chunk's findings with ``findings`` and mark it done; the number stored.
    ``calibration_version``: the service's refitted calibration that scored them (None: the shipped
    default or the spec's priors).

    Each finding's priority is stored with it: its probability x the severity weight of its type and
    the label's class under ``spec`` (``gtqa.scoring.priority``). Findings must be about the chunk's own
    frames (checks report only on their scope). Accepted from the lease holder, and again from the same
    owner once done (a retried finish replaces, it never duplicates).
    """
    now = now or utcnow()
    chunk = _locked_chunk(session, chunk_id)
    held = chunk.lease_owner == owner and chunk.status in (ChunkStatus.running, ChunkStatus.done)
    if not held:
        raise LeaseError(_lost(session, chunk_id, owner))
    job = session.get_one(ReviewJobRow, chunk.job_id)
    if spec.hash != job.spec_hash:
        raise ValueError(f"findings under spec {spec.hash[:12]} for a job under spec {job.spec_hash[:12]}")
    rows = [
        {**r, "calibration_version": calibration_version}
        for r in _finding_rows(session, chunk, job, findings, spec)
    ]
    session.query(FindingRow).filter(FindingRow.chunk_id == chunk_id).delete(**SYNC)
    if rows:
        session.execute(insert(FindingRow), rows)
    chunk.status, chunk.findings_count, chunk.finished_at = ChunkStatus.done, len(rows), now
    chunk.lease_expires_at, chunk.last_error = None, None
    _refresh_job(session, chunk.job_id, now)
    return len(rows)


def fail_chunk(
    session: Session,
    chunk_id: int,
    owner: str,
    error: str,
    *,
    retry: bool = True,
    max_attempts: int = 3,
    now: datetime | None = None,
) -> ChunkStatus:
    """Give a leased chunk back after an error: pending again while it has attempts left and the error
    is worth retrying, else failed for good. The status it is left in."""
    now = now or utcnow()
    chunk = _locked_chunk(session, chunk_id)
    if chunk.lease_owner != owner or chunk.status != ChunkStatus.running:
        raise LeaseError(_lost(session, chunk_id, owner))
    again = retry and chunk.attempts < max_attempts
    chunk.status = ChunkStatus.pending if again else ChunkStatus.failed
    chunk.lease_expires_at, chunk.last_error = None, error[:10_000]
    chunk.finished_at = None if again else now
    _refresh_job(session, chunk.job_id, now)
    return chunk.status


def requeue_chunk(session: Session, chunk_id: int, *, now: datetime | None = None) -> None:
    """Put a chunk back to pending with fresh attempts (an operator re-running it after a fix); its
    findings stay until the next finish replaces them."""
    chunk = _locked_chunk(session, chunk_id)
    chunk.status, chunk.attempts, chunk.lease_owner, chunk.lease_expires_at = (
        ChunkStatus.pending,
        0,
        None,
        None,
    )
    chunk.finished_at = None
    _refresh_job(session, chunk.job_id, now or utcnow())


def job_chunks(session: Session, job_id: int, status: ChunkStatus | None = None) -> list[ChunkRecord]:
    """A job's chunks in order (only those in ``status`` if given); ``NotFoundError`` for no such job."""
    job_record(session, job_id)
    query = select(JobChunkRow).where(JobChunkRow.job_id == job_id).order_by(JobChunkRow.seq)
    if status is not None:
        query = query.where(JobChunkRow.status == status)
    return [_chunk_record(row) for row in session.scalars(query)]


def requeue_failed_chunks(session: Session, job_id: int, *, now: datetime | None = None) -> list[int]:
    """Put every failed chunk of a job back to pending with fresh attempts (ops re-running them after
    the cause is mended); their ids, for the caller to enqueue once committed."""
    ids = chunk_ids(session, job_id, ChunkStatus.failed)
    for chunk_id in ids:
        requeue_chunk(session, chunk_id, now=now)
    return ids


def _chunk_record(row: JobChunkRow) -> ChunkRecord:
    return ChunkRecord(
        id=row.id, job_id=row.job_id, seq=row.seq, status=row.status, frame_count=row.frame_count,
        attempts=row.attempts, findings_count=row.findings_count, last_error=row.last_error,
        finished_at=row.finished_at,
    )  # fmt: skip


def expire_leases(session: Session, *, max_attempts: int = 3, now: datetime | None = None) -> ExpiredLeases:
    """Return chunks whose lease expired to pending (to be enqueued again), or fail the ones out of
    attempts. Rows another transaction is busy with are skipped (PostgreSQL SKIP LOCKED) and caught by
    the next sweep. For the reconciler, run every lease/4 or so."""
    now = now or utcnow()
    expired = (
        select(JobChunkRow.id)
        .where(JobChunkRow.status == ChunkStatus.running, JobChunkRow.lease_expires_at <= now)
        .with_for_update(skip_locked=True)
    )
    rows = session.execute(
        update(JobChunkRow)
        .where(JobChunkRow.id.in_(expired.scalar_subquery()))
        .values(
            status=_case_failed(max_attempts),
            last_error=literal("lease expired; owner ") + func.coalesce(JobChunkRow.lease_owner, "?"),
            lease_expires_at=None,
        )
        .returning(JobChunkRow.id, JobChunkRow.job_id, JobChunkRow.status)
        .execution_options(**SYNC)
    ).all()
    for job_id in sorted({r.job_id for r in rows}):
        _refresh_job(session, job_id, now)
    requeued = tuple(sorted(r.id for r in rows if r.status == ChunkStatus.pending))
    failed = tuple(sorted(r.id for r in rows if r.status == ChunkStatus.failed))
    return ExpiredLeases(requeued=requeued, failed=failed)


def chunk_findings(session: Session, chunk_id: int) -> list[Finding]:
    query = select(FindingRow).where(FindingRow.chunk_id == chunk_id).order_by(FindingRow.id)
    return [to_finding(row) for row in session.scalars(query)]


def _case_failed(max_attempts: int) -> Any:
    return case(
        (JobChunkRow.attempts >= max_attempts, literal(ChunkStatus.failed.value)),
        else_=literal(ChunkStatus.pending.value),
    )


def _held(chunk_id: int, owner: str) -> tuple[Any, ...]:
    return (
        JobChunkRow.id == chunk_id,
        JobChunkRow.status == ChunkStatus.running,
        JobChunkRow.lease_owner == owner,
    )


def _locked_chunk(session: Session, chunk_id: int) -> JobChunkRow:
    query = select(JobChunkRow).where(JobChunkRow.id == chunk_id).with_for_update()
    chunk = session.scalars(query.execution_options(populate_existing=True)).one_or_none()
    if chunk is None:
        raise NotFoundError(f"no chunk {chunk_id}")
    return chunk


def _lost(session: Session, chunk_id: int, owner: str) -> str:
    chunk = session.get(JobChunkRow, chunk_id, populate_existing=True)
    if chunk is None:
        return f"no chunk {chunk_id}"
    holder = f" by {chunk.lease_owner}" if chunk.lease_owner else ""
    return f"chunk {chunk_id} is not leased to {owner}: it is {chunk.status.value}{holder}"


def _finding_rows(
    session: Session, chunk: JobChunkRow, job: ReviewJobRow, findings: Sequence[Finding], spec: CompiledSpec
) -> list[dict[str, Any]]:
    keys = set(chunk.frame_keys)
    outside = sorted({f.frame for f in findings} - keys)
    if outside:
        raise ValueError(f"findings for frames outside chunk {chunk.id}: {', '.join(outside[:10])}")
    in_chunk = (FrameRow.batch_id == job.batch_id, FrameRow.key.in_(keys))
    frames = {
        key: frame_id for key, frame_id in session.execute(select(FrameRow.key, FrameRow.id).where(*in_chunk))
    }
    labels = {
        (frame_key, key): (label_id, cls)
        for frame_key, key, label_id, cls in session.execute(
            select(FrameRow.key, LabelRow.key, LabelRow.id, LabelRow.cls).join(FrameRow).where(*in_chunk)
        )
    }
    rows = []
    for f in findings:
        if f.label is not None and (f.frame, f.label) not in labels:
            raise ValueError(f"finding about label {f.label!r}, which is not in frame {f.frame}")
        label_id, cls = labels[(f.frame, f.label)] if f.label is not None else (None, None)
        values = finding_values(f, priority=priority(f, spec, cls), spec_hash=spec.hash)
        ids = {"job_id": job.id, "chunk_id": chunk.id, "batch_id": job.batch_id, "frame_id": frames[f.frame]}
        rows.append({**values, **ids, "label_id": label_id})
    return rows


def _refresh_job(session: Session, job_id: int, now: datetime) -> None:
    """Recount a job's progress from its chunks, with the job row locked so that concurrent finishes
    of its chunks count each other (PostgreSQL re-reads the counts after the lock is granted).

    FOR NO KEY UPDATE, not FOR UPDATE: inserting findings and review items that reference the job
    already holds a FOR KEY SHARE lock on its row, which FOR UPDATE would wait for; two chunks of one
    job finishing together then deadlocked, each waiting for the other's key-share lock."""
    session.execute(select(ReviewJobRow.id).where(ReviewJobRow.id == job_id).with_for_update(key_share=True))
    session.flush()
    counts = {
        status: (n, frames, found)
        for status, n, frames, found in session.execute(
            select(
                JobChunkRow.status,
                func.count(),
                func.coalesce(func.sum(JobChunkRow.frame_count), 0),
                func.coalesce(func.sum(JobChunkRow.findings_count), 0),
            )
            .where(JobChunkRow.job_id == job_id)
            .group_by(JobChunkRow.status)
        )
    }
    done, failed = counts.get(ChunkStatus.done, (0, 0, 0)), counts.get(ChunkStatus.failed, (0, 0, 0))
    job = session.get_one(ReviewJobRow, job_id, populate_existing=True)
    job.chunks_done, job.chunks_failed, job.frames_done, job.findings_count = (
        done[0],
        failed[0],
        done[1],
        done[2],
    )
    if done[0] + failed[0] == job.chunks_total:
        job.status, job.finished_at = (JobStatus.failed if failed[0] else JobStatus.done), now
    else:
        job.status, job.finished_at = JobStatus.running, None
    session.flush()
