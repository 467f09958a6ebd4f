"""Listings the repositories do not offer: jobs and users, each page read in one query."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gtqa.storage import JobRecord, JobStatus, NotFoundError, UserRecord
from gtqa.storage.models import ReviewJobRow, UserRow

_Record = TypeVar("_Record", JobRecord, UserRecord)


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
    rows = session.scalars(
        select(ReviewJobRow).where(*where).order_by(ReviewJobRow.id.desc()).limit(limit).offset(offset)
    )
    return [_record(JobRecord, row) for row in rows], total


def list_users(session: Session) -> list[UserRecord]:
    return [_record(UserRecord, row) for row in session.scalars(select(UserRow).order_by(UserRow.id))]


def user_by_id(session: Session, user_id: int) -> UserRecord:
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFoundError(f"no user {user_id}")
    return _record(UserRecord, row)


def _record(kind: type[_Record], row: Any) -> _Record:
    """The storage record of a row: its same-named columns (what ``job_record`` and ``user_by_name``
    return, without a query per row)."""
    return kind(**{f.name: getattr(row, f.name) for f in fields(kind)})
