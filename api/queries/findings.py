"""Reading findings: filtered pages for the API, and every match streamed for exports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.schemas.findings import FindingOut
from gtqa.domain import IssueType
from gtqa.storage.mapping import to_finding
from gtqa.storage.models import BatchRow, FindingRow


@dataclass(frozen=True)
class FindingFilter:
    batch_id: int | None = None
    job_id: int | None = None
    vendor: str | None = None
    type: IssueType | None = None
    min_score: float | None = None
    check: str | None = None
    frame: str | None = None
    batches: frozenset[int] | None = None  # what the caller may see (None: everything)


def finding_out(row: FindingRow) -> FindingOut:
    data = to_finding(row).model_dump()
    return FindingOut(**data, id=row.id, batch_id=row.batch_id, job_id=row.job_id, priority=row.priority)


def list_findings(
    session: Session, where: FindingFilter, *, limit: int, offset: int
) -> tuple[list[FindingOut], int]:
    """A page, highest priority first, and the number of matches."""
    query = _filtered(select(FindingRow), where)
    total = session.scalar(_filtered(select(func.count(FindingRow.id)), where)) or 0
    page = query.order_by(FindingRow.priority.desc(), FindingRow.id).limit(limit).offset(offset)
    return [finding_out(row) for row in session.scalars(page)], total


def iter_findings(session: Session, where: FindingFilter, *, batch_size: int = 1000) -> Iterator[FindingOut]:
    """Every match in storage order, ``batch_size`` rows at a time."""
    query = _filtered(select(FindingRow), where).order_by(FindingRow.id)
    for row in session.scalars(query.execution_options(yield_per=batch_size)):
        yield finding_out(row)


def frame_findings(session: Session, job_id: int, frame_key: str) -> list[FindingOut]:
    query = select(FindingRow).where(FindingRow.job_id == job_id, FindingRow.frame_key == frame_key)
    return [finding_out(row) for row in session.scalars(query.order_by(FindingRow.priority.desc()))]


def _filtered(query: Select[Any], where: FindingFilter) -> Select[Any]:
    equal = {
        FindingRow.batch_id: where.batch_id,
        FindingRow.job_id: where.job_id,
        FindingRow.type: where.type,
        FindingRow.check: where.check,
        FindingRow.frame_key: where.frame,
    }
    query = query.where(*(column == value for column, value in equal.items() if value is not None))
    if where.min_score is not None:
        query = query.where(FindingRow.score >= where.min_score)
    if where.vendor is not None:
        query = query.where(
            FindingRow.batch_id.in_(select(BatchRow.id).where(BatchRow.vendor == where.vendor))
        )
    if where.batches is not None:
        query = query.where(FindingRow.batch_id.in_(sorted(where.batches)))
    return query
