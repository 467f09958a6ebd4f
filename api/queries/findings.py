"""Findings as the API shows them: ``gtqa.storage``'s stored findings as ``FindingOut``."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from api.schemas.findings import FindingOut
from gtqa.storage import FindingFilter, StoredFinding, findings_of_frame, findings_page, stream_findings


def finding_out(stored: StoredFinding) -> FindingOut:
    data = stored.finding.model_dump()
    return FindingOut(
        **data, id=stored.id, batch_id=stored.batch_id, job_id=stored.job_id, priority=stored.priority
    )


def list_findings(
    session: Session, where: FindingFilter, *, limit: int, offset: int
) -> tuple[list[FindingOut], int]:
    """A page, highest priority first, and the number of matches."""
    page, total = findings_page(session, where, limit=limit, offset=offset)
    return [finding_out(s) for s in page], total


def iter_findings(session: Session, where: FindingFilter, *, batch_size: int = 1000) -> Iterator[FindingOut]:
    """Every match in storage order, ``batch_size`` rows at a time."""
    return (finding_out(s) for s in stream_findings(session, where, batch_size=batch_size))


def frame_findings(session: Session, job_id: int, frame_key: str) -> list[FindingOut]:
    return [finding_out(s) for s in findings_of_frame(session, job_id, frame_key)]
