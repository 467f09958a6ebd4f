"""What an auditor may read: the batches they work on, and the items they hold or decided."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gtqa.storage import ReviewItem, Role, UserRecord, audited_by, auditor_batches


def visible_batches(session: Session, user: UserRecord) -> frozenset[int] | None:
    """The batches whose findings ``user`` may read: all (None), or for an auditor those in which they
    hold a claim or made an audit."""
    if user.role != Role.auditor:
        return None
    return auditor_batches(session, user.name)


def may_see_item(session: Session, user: UserRecord, item: ReviewItem) -> bool:
    if user.role != Role.auditor or item.claimed_by == user.name:
        return True
    return audited_by(session, item.id, user.name)
