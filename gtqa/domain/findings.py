"""What the reviewer reports: issue types, severities and findings."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from gtqa.domain.vocabulary import JudgeFailure, Verdict


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


class JudgeOpinion(BaseModel):
    """What the LLM judge said about a flag (or why it could not say), with its provenance.

    ``verdict`` is None when the call ended in "needs human" (``failure`` then says why: budget,
    timeout, refusal…). ``verdict`` uses the audit vocabulary (``Verdict``).
    """

    model_config = ConfigDict(frozen=True)

    verdict: Verdict | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    reasoning: str = ""
    failure: JudgeFailure | None = None
    rule_ids: tuple[str, ...] = ()
    model: str = ""
    prompt_id: str = ""
    prompt_version: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cached: bool = False


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
    cls: str | None = Field(default=None, description="the label's class, or the proposed object's")
    proposed_box: tuple[float, float, float, float] | None = Field(
        default=None, description="where the object probably is instead (a detector's box), if known"
    )
    track: int | None = Field(
        default=None,
        description="a proposed missing object inferred from a track (a gap in it): that track's id, the "
        "object's identity",
    )
    raw: float = Field(default=0.0, ge=0.0, le=1.0)
    features: dict[str, float] = Field(default_factory=dict)
    rule_ids: tuple[str, ...] = ()
    params: dict[str, object] = Field(default_factory=dict)
    spec_hash: str = ""
    evidence: tuple[str, ...] = Field(default=(), description="ids of every check that supported it")
    heuristic_score: float | None = Field(
        default=None, ge=0.0, le=1.0, description="the score before the judge's opinion was fused in"
    )
    judge: JudgeOpinion | None = None
    needs_human: bool = Field(default=False, description="the judge was wanted but could not answer")
    follows: bool = Field(
        default=False,
        description="its box overlaps a more probable flag of the frame that may be the same object: the "
        "auditor sees it while reviewing that one, so it is queued after every leading flag "
        "(gtqa.scoring.fuse.mark_followers)",
    )

    @property
    def key(self) -> tuple[str, str | None, IssueType]:
        return (self.frame, self.label, self.type)
