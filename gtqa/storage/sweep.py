"""What the reconciler reads besides expiring leases and claims: pending chunks that may have lost their
broker message, and the jobs (with their spec hash) of given chunks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gtqa.storage.models import JobChunkRow, ReviewJobRow
from gtqa.storage.records import ChunkStatus

# At most this many chunks are returned per sweep (the next sweep finds the rest).
MAX_RESEND = 10_000


def stale_pending_chunks(session: Session, before: datetime, *, limit: int = MAX_RESEND) -> list[int]:
    """Pending chunks last touched (claimed, or created with their job) at or before ``before``."""
    touched = func.coalesce(JobChunkRow.started_at, ReviewJobRow.created_at)
    query = (
        select(JobChunkRow.id)
        .join(ReviewJobRow, ReviewJobRow.id == JobChunkRow.job_id)
        .where(JobChunkRow.status == ChunkStatus.pending, touched <= before)
        .order_by(JobChunkRow.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def jobs_of_chunks(session: Session, chunk_ids: Sequence[int]) -> list[tuple[int, str]]:
    """``(job id, spec hash)`` of the jobs the chunks belong to, by job id."""
    query = (
        select(ReviewJobRow.id, ReviewJobRow.spec_hash)
        .where(ReviewJobRow.id.in_(select(JobChunkRow.job_id).where(JobChunkRow.id.in_(chunk_ids))))
        .order_by(ReviewJobRow.id)
    )
    return [(job_id, spec_hash) for job_id, spec_hash in session.execute(query)]
