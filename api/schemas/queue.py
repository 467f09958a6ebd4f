"""The auditors' queue: items, what an auditor sees of one, and decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.schemas.common import NO_NUL, LongText
from api.schemas.findings import FindingOut
from gtqa.domain import Cuboid3D, IssueType, Label, Prediction, Verdict
from gtqa.storage import ItemKind, ItemStatus, ReviewItem

AttrKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]
AttrText = Annotated[str, StringConstraints(max_length=200, pattern=NO_NUL)]
Pixel = Annotated[float, Field(ge=-1e6, le=1e6)]


class ItemOut(BaseModel):
    id: int
    job_id: int
    batch_id: int
    kind: ItemKind
    priority: float
    status: ItemStatus
    frame: str
    label: str | None
    finding_id: int | None
    claimed_by: str | None
    lease_expires_at: datetime | None

    @classmethod
    def of(cls, item: ReviewItem) -> ItemOut:
        return cls(
            id=item.id, job_id=item.job_id, batch_id=item.batch_id, kind=item.kind, priority=item.priority,
            status=item.status, frame=item.frame_key, label=item.label_key, finding_id=item.finding_id,
            claimed_by=item.claimed_by, lease_expires_at=item.lease_expires_at,
        )  # fmt: skip


class RuleText(BaseModel):
    id: str
    section: str
    prose: str


class ItemContextOut(BaseModel):
    """Everything an auditor needs to decide one item."""

    item: ItemOut
    dataset: str
    spec_hash: str
    finding: FindingOut | None = Field(description="the flag judged (None for a spot check)")
    label: Label | None = Field(description="the label judged (None for a missing object)")
    neighbours: list[Label] = Field(description="the frame's other labels")
    predictions: list[Prediction] = Field(description="detector boxes in the frame")
    frame_findings: list[FindingOut] = Field(description="the job's other findings in the frame")
    rules: list[RuleText] = Field(description="the spec rules the finding cites")
    width: int | None = Field(description="image width, pixels")
    height: int | None = Field(description="image height, pixels")
    image_url: str | None = Field(description="the frame's image, or None for labels-only data")


class Box(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x1: Pixel
    y1: Pixel
    x2: Pixel
    y2: Pixel


class Correction(BaseModel):
    """The label as it should be: given fields replace the judged label's; a missing object needs
    ``cls`` and ``box``."""

    model_config = ConfigDict(extra="forbid")

    cls: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)] | None = None
    box: Box | None = None
    cuboid: Cuboid3D | None = None
    truncation: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    occlusion: Annotated[int, Field(ge=0, le=3)] | None = None
    alpha: Annotated[float, Field(ge=-10.0, le=10.0)] | None = None
    track_id: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    attributes: dict[AttrKey, AttrText | bool | Annotated[float, Field(ge=-1e12, le=1e12)]] | None = Field(
        default=None, max_length=50
    )

    def patch(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"box"}) | (
            {"box": self.box.model_dump()} if self.box else {}
        )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Verdict = Field(description="defect (confirm), not_defect (reject) or unsure")
    issue_type: IssueType | None = Field(
        default=None, description="the defect's type; a flag's own type when omitted (defects only)"
    )
    corrected: Correction | None = Field(default=None, description="the label as it should be (defects)")
    comment: LongText = ""
    seconds: Annotated[float, Field(ge=0, le=86_400)] | None = Field(
        default=None, description="time spent on the decision"
    )


class SkipIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: LongText = ""


class ClaimOut(BaseModel):
    item_id: int
    lease_expires_at: datetime


class QueueCounts(BaseModel):
    pending: int
    claimed: int
    decided: int
    skipped: int


class NextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: Annotated[int, Field(ge=1, le=2**63 - 1)] | None = Field(
        default=None, description="claim only from this job"
    )


class Released(BaseModel):
    item_id: int
    status: ItemStatus


class SkippedReturned(BaseModel):
    returned: int = Field(description="skipped items put back in the queue as pending")
