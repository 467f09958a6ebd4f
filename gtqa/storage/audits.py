"""Audits: listing and counting them, exporting (as gtqa Audits, what calibration learns from),
importing past ones."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import ColumnElement, Select, case, func, insert, literal, select
from sqlalchemy.orm import Session

from gtqa.domain import BLIND_SOURCES, Audit, AuditSource, IssueType, Verdict
from gtqa.storage.mapping import audit_values, to_audit
from gtqa.storage.models import AuditRow, BatchRow


def list_audits(
    session: Session,
    *,
    batch_id: int | None = None,
    spec_hash: str | None = None,
    auditor: str | None = None,
    verdict: Verdict | None = None,
    issue_type: IssueType | None = None,
    source: AuditSource | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
    as_auditors_see: bool = False,
) -> list[Audit]:
    """Audits matching every filter given, oldest first; ``since`` inclusive, ``until`` exclusive.
    ``as_auditors_see``: the source as the auditor saw the item (see ``seen_source``), filtered on too."""
    where = _conditions(
        batch_id, spec_hash, auditor, verdict, issue_type, source, since, until, as_auditors_see
    )
    query = select(AuditRow, seen_source()).where(*where).order_by(AuditRow.created_at, AuditRow.id)
    rows = session.execute(query.offset(offset).limit(limit)).all()
    if not as_auditors_see:
        return [to_audit(row) for row, _ in rows]
    return [to_audit(row).model_copy(update={"source": AuditSource(seen)}) for row, seen in rows]


def seen_source() -> ColumnElement[str]:
    """An audit's source as its auditor saw the item: a blind item (second review, gold) looked like a
    flag (it has a flag's check, or is a frame edit, which a queue item's are) or like a spot check. An
    auditor's own audit list shows this, so that it does not tell them which items were blind."""
    looked = case((AuditRow.flag_check.is_not(None) | AuditRow.item_id.is_(None), literal("queue")),
                  else_=literal("spot_check"))  # fmt: skip
    return case((AuditRow.source.in_(BLIND_SOURCES), looked), else_=AuditRow.source)


def export_audits(
    session: Session,
    *,
    spec_hash: str | None = None,
    batch_id: int | None = None,
    batch_size: int = 1000,
    blind: bool = False,
) -> Iterator[Audit]:
    """Every audit (of one spec, or one batch), oldest first, streamed ``batch_size`` rows at a time.
    Blind answers (second reviews, gold) only with ``blind``: they measure auditors, and what learns
    from or applies audits (calibration, evals, corrections) must see each label's first decision only."""
    query = _filtered(batch_id, spec_hash, None, None, None, None, None, None)
    if not blind:
        query = query.where(AuditRow.source.not_in(BLIND_SOURCES))
    for row in session.scalars(query.execution_options(yield_per=batch_size)):
        yield to_audit(row)


def import_audits(session: Session, audits: Iterable[Audit], *, batch_id: int | None = None) -> int:
    """Store audits made elsewhere (a past audit file); ids already stored are left alone. How many
    were new."""
    fresh: dict[str, Audit] = {}
    for audit in audits:
        fresh.setdefault(audit.id, audit)
    ids = list(fresh)
    for start in range(0, len(ids), 1000):
        known = session.scalars(select(AuditRow.id).where(AuditRow.id.in_(ids[start : start + 1000])))
        for audit_id in known:
            del fresh[audit_id]
    if fresh:
        session.execute(insert(AuditRow), [{**audit_values(a), "batch_id": batch_id} for a in fresh.values()])
    return len(fresh)


def count_audits(
    session: Session,
    *,
    batch_id: int | None = None,
    spec_hash: str | None = None,
    auditor: str | None = None,
    verdict: Verdict | None = None,
    issue_type: IssueType | None = None,
    source: AuditSource | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    as_auditors_see: bool = False,
) -> int:
    """How many audits ``list_audits`` would list with these filters over all its pages."""
    where = _conditions(
        batch_id, spec_hash, auditor, verdict, issue_type, source, since, until, as_auditors_see
    )
    return session.scalar(select(func.count(AuditRow.id)).where(*where)) or 0


def _filtered(
    batch_id: int | None,
    spec_hash: str | None,
    auditor: str | None,
    verdict: Verdict | None,
    issue_type: IssueType | None,
    source: AuditSource | None,
    since: datetime | None,
    until: datetime | None,
) -> Select[AuditRow]:
    where = _conditions(batch_id, spec_hash, auditor, verdict, issue_type, source, since, until)
    return select(AuditRow).where(*where).order_by(AuditRow.created_at, AuditRow.id)


def _conditions(
    batch_id: int | None,
    spec_hash: str | None,
    auditor: str | None,
    verdict: Verdict | None,
    issue_type: IssueType | None,
    source: AuditSource | None,
    since: datetime | None,
    until: datetime | None,
    as_auditors_see: bool = False,
) -> list[ColumnElement[bool]]:
    equal = {
        AuditRow.batch_id: batch_id,
        AuditRow.spec_hash: spec_hash,
        AuditRow.auditor: auditor,
        AuditRow.verdict: verdict,
        AuditRow.issue_type: issue_type,
    }
    where = [column == value for column, value in equal.items() if value is not None]
    if source is not None:
        where.append(seen_source() == source.value if as_auditors_see else AuditRow.source == source)
    if since is not None:
        where.append(AuditRow.created_at >= since)
    if until is not None:
        where.append(AuditRow.created_at < until)
    return where


def label_audits(
    session: Session, batch_id: int, frame_key: str, label_key: str, *, limit: int = 5
) -> list[tuple[int | None, Audit]]:
    """The audits of one label (by frame and label key) in any delivery of the batch's dataset, this one
    included, newest first, each with its batch id: what auditors decided and corrected about it before.
    Found through the audits' batch index (every batch of the dataset), then by frame and label. Blind
    answers (second reviews, gold) are left out: they are not the label's outcome."""
    dataset = select(BatchRow.dataset_id).where(BatchRow.id == batch_id).scalar_subquery()
    batches = select(BatchRow.id).where(BatchRow.dataset_id == dataset)
    query = (
        select(AuditRow)
        .where(
            AuditRow.batch_id.in_(batches),
            AuditRow.frame_key == frame_key,
            AuditRow.label_key == label_key,
            AuditRow.source.not_in(BLIND_SOURCES),
        )
        .order_by(AuditRow.created_at.desc(), AuditRow.id)
        .limit(limit)
    )
    return [(row.batch_id, to_audit(row)) for row in session.scalars(query)]
