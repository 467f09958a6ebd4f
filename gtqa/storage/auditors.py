"""What one auditor has touched: the item they hold, the seconds of their recent queue decisions, the
batches in which they hold a claim or made an audit, and whether they audited an item. Who may see what
is the caller's rule; these are the reads behind it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select, union
from sqlalchemy.orm import Session

from gtqa.domain import BLIND_SOURCES, AuditSource
from gtqa.storage._sql import IS_CLAIMED
from gtqa.storage.models import AuditRow, ReviewItemRow

# Blind items count as any other decision: an auditor's own tally must not tell them which items were
# second reviews or gold.
QUEUE_SOURCES = (AuditSource.queue, AuditSource.spot_check, *BLIND_SOURCES)


def held_item(session: Session, auditor: str, now: datetime) -> int | None:
    """The item the auditor holds an unexpired claim on (the latest claimed), if any."""
    query = (
        select(ReviewItemRow.id)
        .where(IS_CLAIMED, ReviewItemRow.claimed_by == auditor, ReviewItemRow.lease_expires_at > now)
        .order_by(ReviewItemRow.claimed_at.desc())
        .limit(1)
    )
    return session.scalar(query)


def decision_seconds(session: Session, auditor: str, since: datetime) -> list[float | None]:
    """The seconds recorded on each of the auditor's queue decisions (flags, spot checks, blind items)
    made at or after ``since``; None where none was recorded."""
    query = select(AuditRow.seconds).where(
        AuditRow.auditor == auditor,
        AuditRow.created_at >= since,
        AuditRow.source.in_(QUEUE_SOURCES),
        AuditRow.item_id.is_not(None),  # not the frame edits made alongside a decision
    )
    return list(session.scalars(query))


def auditor_batches(session: Session, auditor: str) -> frozenset[int]:
    """The batches in which the auditor holds a claim or made an audit."""
    claimed = select(ReviewItemRow.batch_id).where(ReviewItemRow.claimed_by == auditor)
    audited = select(AuditRow.batch_id).where(AuditRow.auditor == auditor, AuditRow.batch_id.is_not(None))
    return frozenset(b for b in session.scalars(union(claimed, audited)) if b is not None)


def audited_by(session: Session, item_id: int, auditor: str) -> bool:
    """Whether the auditor made an audit of the item."""
    mine = exists().where(AuditRow.item_id == item_id, AuditRow.auditor == auditor)
    return bool(session.scalar(select(mine)))
