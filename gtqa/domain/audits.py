"""Audits: a human's decision about a flag or a label, the most valuable signal a QA programme owns.

An audit of a missing object has a ``box`` and no ``label``. ``seconds`` is the time the auditor spent
on the decision; ``spec_hash`` is the spec it was judged under (a calibration fitted on audits is only
valid for that spec).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from gtqa.domain.findings import IssueType
from gtqa.domain.geometry import Box2D
from gtqa.domain.labels import Label
from gtqa.domain.vocabulary import Verdict


class AuditSource(StrEnum):
    queue = "queue"  # decided on a flag of the prioritised review queue
    spot_check = "spot_check"  # a random unflagged label, to estimate what the reviewer misses
    imported = "imported"  # from a past audit file (JSONL, re-check table)
    # Blind answers that measure the auditors, never the labels: a decided item sent to a second auditor,
    # and a known-answer (gold) item. Neither changes a label's outcome (the first decision stands).
    second_review = "second_review"
    gold = "gold"


BLIND_SOURCES = (AuditSource.second_review, AuditSource.gold)


class GoldAnswer(BaseModel):
    """The known answer to a seeded gold item: the label judged (frame and label id), the verdict an
    auditor should give and, for a defect, its issue type (None: any type counts as right). ``where``
    names the file and line it was read from, for errors."""

    model_config = ConfigDict(frozen=True)

    frame: str = Field(min_length=1)
    label: str = Field(min_length=1)
    verdict: Verdict
    issue_type: IssueType | None = None
    where: str = ""


class Audit(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    dataset: str = ""
    frame: str
    label: str | None = Field(default=None, description="label id; None for a missing object")
    box: Box2D | None = Field(default=None, description="the box judged (image pixels)")
    verdict: Verdict
    issue_type: IssueType | None = None
    corrected: Label | None = None
    flag_check: str | None = Field(default=None, description="the check whose flag was judged, if any")
    auditor: str = ""
    seconds: float | None = Field(default=None, ge=0)
    spec_hash: str | None = None
    source: AuditSource = AuditSource.imported
    comment: str = ""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
