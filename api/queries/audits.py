"""Audit filters: a page of matches and their count over all pages (``gtqa.storage`` reads both)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gtqa.domain import Audit, AuditSource, IssueType, Verdict
from gtqa.storage import count_audits, list_audits


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
    as_auditors_see: bool = (
        False  # an auditor's own list: blind items' audits under the source they looked like
    )

    def page(self, session: Session, *, limit: int, offset: int) -> list[Audit]:
        return list_audits(
            session, batch_id=self.batch_id, spec_hash=self.spec_hash, auditor=self.auditor,
            verdict=self.verdict, issue_type=self.issue_type, source=self.source, since=self.since,
            until=self.until, limit=limit, offset=offset, as_auditors_see=self.as_auditors_see,
        )  # fmt: skip

    def count(self, session: Session) -> int:
        """The matches of ``page`` over all pages."""
        return count_audits(
            session, batch_id=self.batch_id, spec_hash=self.spec_hash, auditor=self.auditor,
            verdict=self.verdict, issue_type=self.issue_type, source=self.source, since=self.since,
            until=self.until, as_auditors_see=self.as_auditors_see,
        )  # fmt: skip
