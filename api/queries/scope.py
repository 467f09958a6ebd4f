"""What an auditor may read: the batches they work on, and the items they hold or decided."""

from __future__ import annotations

from sqlalchemy import exists, select, union
from sqlalchemy.orm import Session

from gtqa.storage import ReviewItem, Role, UserRecord
from gtqa.storage.models import AuditRow, ReviewItemRow


def visible_batches(session: Session, user: UserRecord) -> frozenset[int] | None:
    """The batches whose findings ``user`` may read: all (None), or for an auditor those in which they
    hold a claim or made an audit."""
    if user.role != Role.auditor:
        return None
    claimed = select(ReviewItemRow.batch_id).where(ReviewItemRow.claimed_by == user.name)
    audited = select(AuditRow.batch_id).where(AuditRow.auditor == user.name, AuditRow.batch_id.is_not(None))
    return frozenset(b for b in session.scalars(union(claimed, audited)) if b is not None)


def may_see_item(session: Session, user: UserRecord, item: ReviewItem) -> bool:
    if user.role != Role.auditor or item.claimed_by == user.name:
        return True
    mine = exists().where(AuditRow.item_id == item.id, AuditRow.auditor == user.name)
    return bool(session.scalar(select(mine)))
