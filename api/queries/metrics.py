"""Counts for the metrics summary and the Prometheus gauges."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.schemas.other import TypePrecision
from gtqa.domain import IssueType, Verdict
from gtqa.storage import JobStatus
from gtqa.storage.models import AuditRow, FindingRow, ReviewItemRow, ReviewJobRow


def jobs_by_status(session: Session) -> dict[str, int]:
    query = select(ReviewJobRow.status, func.count()).group_by(ReviewJobRow.status)
    counts = {status: n for status, n in session.execute(query)}
    return {status.value: counts.get(status, 0) for status in JobStatus}


def audits_by_verdict(session: Session) -> dict[str, int]:
    query = select(AuditRow.verdict, func.count()).group_by(AuditRow.verdict)
    counts = {verdict: n for verdict, n in session.execute(query)}
    out = {verdict.value: counts.get(verdict, 0) for verdict in Verdict}
    return {**out, "total": sum(out.values())}


def precision_by_type(session: Session) -> list[TypePrecision]:
    """Of the flags auditors decided in the queue: how many were real defects, per the flag's type
    (an audit's own issue type is empty when it rejects the flag, so the finding's type counts)."""
    query = (
        select(FindingRow.type, AuditRow.verdict, func.count())
        .join(ReviewItemRow, ReviewItemRow.id == AuditRow.item_id)
        .join(FindingRow, FindingRow.id == ReviewItemRow.finding_id)
        .group_by(FindingRow.type, AuditRow.verdict)
    )
    counts: dict[IssueType, dict[Verdict, int]] = {}
    for issue, verdict, n in session.execute(query):
        counts.setdefault(issue, {})[verdict] = n
    return [_precision(issue, counts.get(issue, {})) for issue in IssueType]


def _precision(issue: IssueType, by_verdict: dict[Verdict, int]) -> TypePrecision:
    defect, not_defect = by_verdict.get(Verdict.defect, 0), by_verdict.get(Verdict.not_defect, 0)
    decided = defect + not_defect
    return TypePrecision(
        type=issue.value,
        defect=defect,
        not_defect=not_defect,
        unsure=by_verdict.get(Verdict.unsure, 0),
        precision=defect / decided if decided else None,
    )
