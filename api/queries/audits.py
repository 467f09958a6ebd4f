"""Audit filters, and counting their matches (``gtqa.storage.list_audits`` pages, it does not count)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gtqa.domain import Audit, AuditSource, IssueType, Verdict
from gtqa.storage import list_audits
from gtqa.storage.models import AuditRow


@dataclass(frozen=True)
class AuditFilter:
    batch_id: int | None = None
    spec_hash: str | None = None
    auditor: str | None = None
    verdict: Verdict | None = None
    issue_type: IssueType | None = None
    source: AuditSource | None = None
    since: datetime | None = None
    until: datetime | None = None

    def page(self, session: Session, *, limit: int, offset: int) -> list[Audit]:
        return list_audits(
            session, batch_id=self.batch_id, spec_hash=self.spec_hash, auditor=self.auditor,
            verdict=self.verdict, issue_type=self.issue_type, source=self.source, since=self.since,
            until=self.until, limit=limit, offset=offset,
        )  # fmt: skip

    def count(self, session: Session) -> int:
        """The matches of ``page`` over all pages (the same conditions as ``list_audits``)."""
        equal = {
            AuditRow.batch_id: self.batch_id,
            AuditRow.spec_hash: self.spec_hash,
            AuditRow.auditor: self.auditor,
            AuditRow.verdict: self.verdict,
            AuditRow.issue_type: self.issue_type,
            AuditRow.source: self.source,
        }
        query = select(func.count(AuditRow.id)).where(*(c == v for c, v in equal.items() if v is not None))
        if self.since is not None:
            query = query.where(AuditRow.created_at >= self.since)
        if self.until is not None:
            query = query.where(AuditRow.created_at < self.until)
        return session.scalar(query) or 0
