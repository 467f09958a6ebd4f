"""Reading stored findings: filtered pages, every match streamed (exports), and one frame's findings of a
job (the item view). Each comes back as a ``StoredFinding``: the gtqa ``Finding`` and where it is kept."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gtqa.domain import Finding, IssueType
from gtqa.storage.mapping import to_finding
from gtqa.storage.models import BatchRow, FindingRow


@dataclass(frozen=True)
class FindingFilter:
    """Findings matching every field given (None: any)."""

    batch_id: int | None = None
    job_id: int | None = None
    vendor: str | None = None
    type: IssueType | None = None
    min_score: float | None = None
    check: str | None = None
    frame: str | None = None
    batches: frozenset[int] | None = None  # what the caller may see (None: everything)


@dataclass(frozen=True, slots=True)
class StoredFinding:
    finding: Finding
    id: int
    batch_id: int
    job_id: int
    priority: float  # review order: probability x the spec's severity weight


def findings_page(
    session: Session, where: FindingFilter, *, limit: int, offset: int
) -> tuple[list[StoredFinding], int]:
    """A page, highest priority first, and the number of matches."""
    query = _filtered(select(FindingRow), where)
    total = session.scalar(_filtered(select(func.count(FindingRow.id)), where)) or 0
    page = query.order_by(FindingRow.priority.desc(), FindingRow.id).limit(limit).offset(offset)
    return [_stored(row) for row in session.scalars(page)], total


def stream_findings(
    session: Session, where: FindingFilter, *, batch_size: int = 1000
) -> Iterator[StoredFinding]:
    """Every match in storage order, ``batch_size`` rows at a time."""
    query = _filtered(select(FindingRow), where).order_by(FindingRow.id)
    for row in session.scalars(query.execution_options(yield_per=batch_size)):
        yield _stored(row)


def findings_of_frame(session: Session, job_id: int, frame_key: str) -> list[StoredFinding]:
    """A job's findings in one frame, highest priority first."""
    query = select(FindingRow).where(FindingRow.job_id == job_id, FindingRow.frame_key == frame_key)
    return [_stored(row) for row in session.scalars(query.order_by(FindingRow.priority.desc()))]


def _stored(row: FindingRow) -> StoredFinding:
    return StoredFinding(to_finding(row), row.id, row.batch_id, row.job_id, row.priority)


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
