"""Listings the repositories do not offer: jobs and users."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gtqa.storage import JobRecord, JobStatus, NotFoundError, UserRecord, job_record, user_by_name
from gtqa.storage.models import ReviewJobRow, UserRow


def list_jobs(
    session: Session, *, batch_id: int | None, status: JobStatus | None, limit: int, offset: int
) -> tuple[list[JobRecord], int]:
    """Newest first."""
    where = []
    if batch_id is not None:
        where.append(ReviewJobRow.batch_id == batch_id)
    if status is not None:
        where.append(ReviewJobRow.status == status)
    total = session.scalar(select(func.count(ReviewJobRow.id)).where(*where)) or 0
    ids = session.scalars(
        select(ReviewJobRow.id).where(*where).order_by(ReviewJobRow.id.desc()).limit(limit).offset(offset)
    )
    return [job_record(session, job_id) for job_id in ids], total


def list_users(session: Session) -> list[UserRecord]:
    return [
        user_by_name(session, name) for name in session.scalars(select(UserRow.name).order_by(UserRow.id))
    ]


def user_by_id(session: Session, user_id: int) -> UserRecord:
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFoundError(f"no user {user_id}")
    return user_by_name(session, row.name)
