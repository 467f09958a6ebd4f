"""Calibration versions: the refits of a spec's calibration on the service's own audits, the version in
use per (spec name, data format), the refit lease, and what a refit and a re-prioritisation read and
write (issue 19). The decisions (fit, gate, promote) are the workers'; storage keeps the record.

A version's ``parent_id`` is the version it would replace (None: the shipped default calibration or the
spec's priors, whichever the plan chose). Rolling back makes the nearest promoted ancestor current again.
The lease is a row per (spec name, data format) updated with a condition (``refit_owner`` empty or its
lease expired): on PostgreSQL the second of two racing updates waits for the first to commit and then
finds the condition false; on SQLite the write transaction (``BEGIN IMMEDIATE``) serialises them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from gtqa.domain import Audit, Finding, Verdict
from gtqa.storage._sql import IS_AUDIT, IS_PENDING, SYNC, rowcount
from gtqa.storage.errors import NotFoundError
from gtqa.storage.mapping import to_audit, to_finding
from gtqa.storage.models import (
    AuditRow,
    BatchRow,
    CalibrationHeadRow,
    CalibrationVersionRow,
    FindingRow,
    ReviewItemRow,
    ReviewJobRow,
)
from gtqa.storage.records import CalibrationState, CalibrationVersion, ItemKind, ItemStatus
from gtqa.storage.types import utcnow

_LISTED = (
    CalibrationVersionRow.id,
    CalibrationVersionRow.spec_name,
    CalibrationVersionRow.spec_hash,
    CalibrationVersionRow.data_format,
    CalibrationVersionRow.parent_id,
    CalibrationVersionRow.status,
    CalibrationVersionRow.reason,
    CalibrationVersionRow.n_audits,
    CalibrationVersionRow.evaluation,
    CalibrationVersionRow.model_sha256,
    CalibrationVersionRow.created_at,
    CalibrationVersionRow.promoted_at,
)


def record_calibration_version(
    session: Session,
    *,
    spec_name: str,
    spec_hash: str,
    data_format: str,
    parent_id: int | None,
    status: CalibrationState,
    reason: str,
    n_audits: int,
    evaluation: dict[str, Any] | None = None,
    model_json: str | None = None,
    now: datetime | None = None,
) -> int:
    """Store one refit's outcome (and its model, with the model's sha256); its id."""
    row = CalibrationVersionRow(
        spec_name=spec_name,
        spec_hash=spec_hash,
        data_format=data_format,
        parent_id=parent_id,
        status=status,
        reason=reason,
        n_audits=n_audits,
        evaluation=evaluation,
        model=model_json,
        model_sha256=hashlib.sha256(model_json.encode()).hexdigest() if model_json is not None else None,
        created_at=now or utcnow(),
    )
    session.add(row)
    session.flush()
    return row.id


def calibration_versions(
    session: Session, *, spec_name: str | None = None, data_format: str | None = None
) -> list[CalibrationVersion]:
    """Versions, newest first (without their models), each saying whether it is current."""
    query = select(*_LISTED).order_by(
        CalibrationVersionRow.created_at.desc(), CalibrationVersionRow.id.desc()
    )
    if spec_name is not None:
        query = query.where(CalibrationVersionRow.spec_name == spec_name)
    if data_format is not None:
        query = query.where(CalibrationVersionRow.data_format == data_format)
    current = set(
        session.scalars(
            select(CalibrationHeadRow.version_id).where(CalibrationHeadRow.version_id.is_not(None))
        )
    )
    return [_version(row, row.id in current) for row in session.execute(query)]


def calibration_version(session: Session, version_id: int) -> CalibrationVersion:
    row = session.execute(select(*_LISTED).where(CalibrationVersionRow.id == version_id)).one_or_none()
    if row is None:
        raise NotFoundError(f"no calibration version {version_id}")
    head = _head(session, row.spec_name, row.data_format)
    return _version(row, head is not None and head.version_id == version_id)


def calibration_model_json(session: Session, version_id: int) -> str | None:
    """The version's ``CalibrationModel`` JSON (None for a refit refused before fitting)."""
    return session.scalar(select(CalibrationVersionRow.model).where(CalibrationVersionRow.id == version_id))


def current_calibration(session: Session, spec_name: str, data_format: str) -> CalibrationVersion | None:
    """The promoted version in use for this spec name and format; None: the shipped default or priors."""
    head = _head(session, spec_name, data_format)
    if head is None or head.version_id is None:
        return None
    return calibration_version(session, head.version_id)


def promote_calibration(session: Session, version_id: int, *, now: datetime | None = None) -> None:
    """Make a version the one in use for its spec name and format."""
    row = session.get(CalibrationVersionRow, version_id)
    if row is None:
        raise NotFoundError(f"no calibration version {version_id}")
    row.status, row.promoted_at = CalibrationState.promoted, now or utcnow()
    _ensure_head(session, row.spec_name, row.data_format)
    session.execute(_head_update(row.spec_name, row.data_format).values(version_id=version_id))


def roll_back_calibration(session: Session, spec_name: str, data_format: str) -> tuple[int, int | None]:
    """Mark the current version rolled back and make its nearest promoted ancestor current (None: the
    shipped default or priors). (rolled back id, now current id); ``NotFoundError`` when none is current."""
    head = _head(session, spec_name, data_format)
    if head is None or head.version_id is None:
        raise NotFoundError(f"no refitted calibration is in use for spec {spec_name} on {data_format} data")
    rolled = session.get_one(CalibrationVersionRow, head.version_id)
    rolled.status = CalibrationState.rolled_back
    parent = rolled.parent_id
    while parent is not None:
        ancestor = session.get_one(CalibrationVersionRow, parent)
        if ancestor.status == CalibrationState.promoted:
            break
        parent = ancestor.parent_id
    session.execute(_head_update(spec_name, data_format).values(version_id=parent))
    return rolled.id, parent


def acquire_refit_lease(
    session: Session,
    spec_name: str,
    data_format: str,
    owner: str,
    *,
    lease_s: float,
    now: datetime | None = None,
) -> bool:
    """Take the refit lease of this spec name and format unless another owner holds an unexpired one."""
    now = now or utcnow()
    _ensure_head(session, spec_name, data_format)
    free = or_(CalibrationHeadRow.refit_owner.is_(None), CalibrationHeadRow.refit_expires_at < now)
    stmt = (
        _head_update(spec_name, data_format)
        .where(free)
        .values(refit_owner=owner, refit_expires_at=now + timedelta(seconds=lease_s), decisions=0)
    )
    return rowcount(session.execute(stmt)) == 1


def release_refit_lease(session: Session, spec_name: str, data_format: str, owner: str) -> None:
    stmt = _head_update(spec_name, data_format).where(CalibrationHeadRow.refit_owner == owner)
    session.execute(stmt.values(refit_owner=None, refit_expires_at=None))


def count_decision(session: Session, item_id: int, *, every: int) -> tuple[str, str] | None:
    """Count a decision towards the next refit of its batch's (spec name, format); that pair when
    ``every`` decisions were counted since the last refit started (the counter then restarts), else None.
    ``every`` 0: refits are not triggered by decisions (nothing is counted)."""
    if every <= 0:
        return None
    key = session.execute(
        select(BatchRow.spec_name, BatchRow.format)
        .join(ReviewItemRow, ReviewItemRow.batch_id == BatchRow.id)
        .where(ReviewItemRow.id == item_id, IS_AUDIT)  # a blind item's answer teaches nothing new
    ).one_or_none()
    if key is None:
        return None
    spec_name, data_format = str(key[0]), str(key[1])
    _ensure_head(session, spec_name, data_format)
    stmt = _head_update(spec_name, data_format).values(decisions=CalibrationHeadRow.decisions + 1)
    session.execute(stmt)
    head = session.get_one(CalibrationHeadRow, (spec_name, data_format), populate_existing=True)
    if head.decisions < every:
        return None
    session.execute(_head_update(spec_name, data_format).values(decisions=0))
    return spec_name, data_format


@dataclass(frozen=True, slots=True)
class LearningFlag:
    """A stored flag as a refit and a re-prioritisation see it."""

    finding: Finding
    id: int
    batch_id: int
    job_spec_hash: str
    frame_id: int
    item_status: ItemStatus | None
    inclusion_probability: float | None  # of a flag sampled as a spot check; None: queued by its order
    calibration_version: int | None


def decided_frames(session: Session, spec_name: str, data_format: str) -> list[int]:
    """Frames (ids) of this spec name and format where a flag was decided, in id order. Audit items only:
    a blind second review or a gold item measures the auditors, never a label's outcome."""
    query = (
        select(ReviewItemRow.frame_id)
        .join(BatchRow, BatchRow.id == ReviewItemRow.batch_id)
        .where(
            BatchRow.spec_name == spec_name,
            BatchRow.format == data_format,
            ReviewItemRow.kind == ItemKind.flag,
            ReviewItemRow.status == ItemStatus.decided,
            IS_AUDIT,
        )
        .distinct()
        .order_by(ReviewItemRow.frame_id)
    )
    return list(session.scalars(query))


def frames_flags(session: Session, frame_ids: Sequence[int]) -> list[LearningFlag]:
    """Every flag of these frames (whole frames: context features need them), with its item's state."""
    out: list[LearningFlag] = []
    for start in range(0, len(frame_ids), 500):
        query = (
            select(
                FindingRow, ReviewItemRow.status, ReviewItemRow.inclusion_probability, ReviewJobRow.spec_hash
            )
            .join(ReviewJobRow, ReviewJobRow.id == FindingRow.job_id)
            .outerjoin(ReviewItemRow, (ReviewItemRow.finding_id == FindingRow.id) & IS_AUDIT)
            .where(FindingRow.frame_id.in_(frame_ids[start : start + 500]))
            .order_by(FindingRow.frame_id, FindingRow.id)
        )
        out.extend(_learning_flag(*row) for row in session.execute(query))
    return out


def frames_audits(session: Session, frame_ids: Sequence[int]) -> dict[int, list[Audit]]:
    """The audits of the decided items of these frames, per batch id (frame keys are unique per batch)."""
    out: dict[int, list[Audit]] = {}
    for start in range(0, len(frame_ids), 500):
        query = (
            select(AuditRow, ReviewItemRow.batch_id)
            .join(ReviewItemRow, ReviewItemRow.id == AuditRow.item_id)
            .where(ReviewItemRow.frame_id.in_(frame_ids[start : start + 500]), IS_AUDIT)
            .order_by(AuditRow.created_at, AuditRow.id)
        )
        for audit, batch_id in session.execute(query):
            out.setdefault(batch_id, []).append(to_audit(audit))
    return out


def pending_frames(
    session: Session, spec_name: str, data_format: str, *, after_frame: int, max_items: int
) -> list[int]:
    """The next frames (ids above ``after_frame``) holding pending flag items of this spec name and
    format, as many as hold about ``max_items`` such items (at least one frame)."""
    query = (
        select(ReviewItemRow.frame_id, func.count())
        .join(BatchRow, BatchRow.id == ReviewItemRow.batch_id)
        .where(
            BatchRow.spec_name == spec_name,
            BatchRow.format == data_format,
            ReviewItemRow.kind == ItemKind.flag,
            IS_PENDING,
            IS_AUDIT,
            ReviewItemRow.frame_id > after_frame,
        )
        .group_by(ReviewItemRow.frame_id)
        .order_by(ReviewItemRow.frame_id)
        .limit(max_items)
    )
    frames: list[int] = []
    total = 0
    for frame_id, n in session.execute(query):
        if frames and total + n > max_items:
            break
        frames.append(int(frame_id))
        total += int(n)
    return frames


@dataclass(frozen=True, slots=True)
class Rescored:
    """A flag's new score under a calibration version (None: the shipped default or priors)."""

    finding_id: int
    score: float
    priority: float
    follows: bool
    features: dict[str, float]
    version: int | None


def rescore_pending(session: Session, rescored: Iterable[Rescored]) -> int:
    """Write new scores of flags whose items are still pending (a flag claimed or decided meanwhile keeps
    the score it was shown with) and re-prioritise those items, except spot-check samples (their priority
    is their stream slot). How many items moved. The pending items are locked for the transaction, skipping
    any a claim holds locked (PostgreSQL; SQLite serialises writers): a claim racing this transaction
    takes another item instead of waiting, and an item it took is not touched."""
    values = list(rescored)
    if not values:
        return 0
    items = {
        finding_id: (item_id, stratum)
        for item_id, finding_id, stratum in session.execute(
            select(ReviewItemRow.id, ReviewItemRow.finding_id, ReviewItemRow.stratum)
            .where(ReviewItemRow.finding_id.in_([r.finding_id for r in values]), IS_PENDING, IS_AUDIT)
            .with_for_update(skip_locked=True)
        )
    }
    todo = [r for r in values if r.finding_id in items]
    if not todo:
        return 0
    session.execute(
        update(FindingRow),
        [
            {"id": r.finding_id, "score": r.score, "priority": r.priority, "follows": r.follows,
             "features": r.features, "calibration_version": r.version}
            for r in todo
        ],
    )  # fmt: skip
    moved = [
        {"id": items[r.finding_id][0], "priority": r.priority} for r in todo if items[r.finding_id][1] is None
    ]
    if moved:
        session.execute(update(ReviewItemRow), moved)
    return len(moved)


def queue_precision(session: Session, spec_name: str, data_format: str) -> dict[int | None, tuple[int, int]]:
    """Per calibration version that scored them (None: shipped default or priors): the flags auditors
    decided (defect or not; unsure left out) and the real defects among them."""
    is_defect = func.sum(case((AuditRow.verdict == Verdict.defect, 1), else_=0))
    query = (
        select(FindingRow.calibration_version, func.count(), is_defect)
        .join(ReviewItemRow, ReviewItemRow.finding_id == FindingRow.id)
        .join(AuditRow, AuditRow.item_id == ReviewItemRow.id)
        .join(BatchRow, BatchRow.id == FindingRow.batch_id)
        .where(
            BatchRow.spec_name == spec_name,
            BatchRow.format == data_format,
            AuditRow.verdict.in_([Verdict.defect, Verdict.not_defect]),
            IS_AUDIT,
        )
        .group_by(FindingRow.calibration_version)
    )
    return {version: (int(n), int(defects or 0)) for version, n, defects in session.execute(query)}


def calibration_keys(session: Session) -> list[tuple[str, str]]:
    """Every (spec name, data format) the service holds batches of."""
    query = (
        select(BatchRow.spec_name, BatchRow.format).distinct().order_by(BatchRow.spec_name, BatchRow.format)
    )
    return [(str(a), str(b)) for a, b in session.execute(query)]


def latest_spec_hash(session: Session, spec_name: str, data_format: str) -> str | None:
    """The spec hash of the newest batch of this spec name and format."""
    query = (
        select(BatchRow.spec_hash)
        .where(BatchRow.spec_name == spec_name, BatchRow.format == data_format)
        .order_by(BatchRow.created_at.desc(), BatchRow.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def _learning_flag(
    row: FindingRow, status: ItemStatus | None, pi: float | None, spec_hash: str
) -> LearningFlag:
    return LearningFlag(
        to_finding(row), row.id, row.batch_id, spec_hash, row.frame_id, status, pi, row.calibration_version
    )


def _version(row: Row[Any], current: bool) -> CalibrationVersion:
    return CalibrationVersion(
        id=row.id,
        spec_name=row.spec_name,
        spec_hash=row.spec_hash,
        data_format=row.data_format,
        parent_id=row.parent_id,
        status=CalibrationState(row.status),
        reason=row.reason,
        n_audits=row.n_audits,
        evaluation=row.evaluation,
        model_sha256=row.model_sha256,
        created_at=row.created_at,
        promoted_at=row.promoted_at,
        current=current,
    )


def _head(session: Session, spec_name: str, data_format: str) -> CalibrationHeadRow | None:
    return session.get(CalibrationHeadRow, (spec_name, data_format), populate_existing=True)


def _ensure_head(session: Session, spec_name: str, data_format: str) -> None:
    """The head row exists (created by whichever of two racing transactions comes first)."""
    values = {"spec_name": spec_name, "data_format": data_format, "decisions": 0}
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(CalibrationHeadRow).values(**values).on_conflict_do_nothing())


def _head_update(spec_name: str, data_format: str) -> Any:
    where = and_(CalibrationHeadRow.spec_name == spec_name, CalibrationHeadRow.data_format == data_format)
    return update(CalibrationHeadRow).where(where).execution_options(**SYNC)
