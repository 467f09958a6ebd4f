"""What the reviewer reports: issue types, severities and findings."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class IssueType(StrEnum):
    """The fixed vocabulary of defects. Every finding, audit and injected defect uses one of these."""

    missing_object = "missing_object"  # an object in the scene has no label
    spurious_object = "spurious_object"  # a label with no object under it
    wrong_class = "wrong_class"
    bad_box = "bad_box"  # the 2D box is loose, tight, shifted or malformed
    duplicate = "duplicate"  # two labels for one object
    attribute = "attribute"  # truncation, occlusion or another attribute is wrong
    track_id = "track_id"  # broken, switched or reused track identity
    geometry_3d = "geometry_3d"  # 3D dimensions, location or orientation inconsistent
    spec_violation = "spec_violation"  # breaks a written rule of the spec (size limit, DontCare…)


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"

    @property
    def weight(self) -> float:
        """Multiplier used by review priority (probability x severity weight)."""
        return {"low": 0.25, "medium": 0.5, "high": 0.75, "critical": 1.0}[self.value]


class Finding(BaseModel):
    """A flag: one suspected defect of one label (or one missing object), with its evidence.

    ``score`` is the probability in [0, 1] that the flag is a real defect (priors from the spec until a
    calibration fitted on past audits replaces them). ``raw`` is the check's own evidence strength in
    [0, 1] before any mapping. ``box`` is the label's box, or the proposed box of a missing object, in
    image pixels ``[x1, y1, x2, y2]``.
    """

    model_config = ConfigDict(frozen=True)

    frame: str
    label: str | None
    type: IssueType
    score: float = Field(ge=0.0, le=1.0)
    box: tuple[float, float, float, float]
    check: str
    message: str
    raw: float = Field(default=0.0, ge=0.0, le=1.0)
    features: dict[str, float] = Field(default_factory=dict)
    rule_ids: tuple[str, ...] = ()
    params: dict[str, object] = Field(default_factory=dict)
    spec_hash: str = ""
    evidence: tuple[str, ...] = Field(default=(), description="ids of every check that supported it")

    @property
    def key(self) -> tuple[str, str | None, IssueType]:
        return (self.frame, self.label, self.type)
