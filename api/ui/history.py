"""What auditors decided about a label before: the earlier decisions and corrections shown beside an item,
and whether the label is an identical re-delivery of one already decided in another batch. Pure
functions of the stored audits (``gtqa.storage.label_audits``); boxes in image pixels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel, Field

from gtqa.domain import Audit, IssueType, Label, Verdict

SAME_PX = 0.01  # boxes this close (pixels, every side) are the same box


class EarlierDecision(BaseModel):
    batch_id: int | None
    at: datetime
    auditor: str
    verdict: Verdict
    issue_type: IssueType | None
    corrected_box: tuple[float, float, float, float] | None = Field(description="the box as corrected")
    corrected_cls: str | None
    comment: str
    identical: bool = Field(description="another batch's label, exactly as this one is: a re-delivery")


def earlier_decisions(
    audits: Sequence[tuple[int | None, Audit]], label: Label, batch_id: int, *, this_audit: str | None = None
) -> list[EarlierDecision]:
    """The label's audits as the page lists them (newest first), but never the item's own decision."""
    return [_earlier(b, a, label, batch_id) for b, a in audits if a.id != this_audit]


def _earlier(batch: int | None, audit: Audit, label: Label, batch_id: int) -> EarlierDecision:
    fixed = audit.corrected
    same = audit.box is not None and _same(audit.box.as_list(), label.box.as_list())
    return EarlierDecision(
        batch_id=batch, at=audit.created_at, auditor=audit.auditor, verdict=audit.verdict,
        issue_type=audit.issue_type, comment=audit.comment,
        corrected_box=tuple(fixed.box.as_list()) if fixed else None,
        corrected_cls=fixed.cls if fixed else None,
        identical=batch is not None and batch != batch_id and same,
    )  # fmt: skip


def _same(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(abs(x - y) <= SAME_PX for x, y in zip(a, b, strict=True))
