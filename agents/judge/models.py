"""What the judge is asked (``JudgeRequest``), what the model must answer (``JudgeVerdict``) and what the
judge returns (``JudgeResult``).

Boxes are in image pixels ``[x1, y1, x2, y2]`` (origin top-left, y down; see ``gtqa.domain.geometry``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gtqa.domain import Finding, IssueType, JudgeFailure, Label, Verdict
from gtqa.domain.boxes import iou_matrix
from gtqa.domain.labels import AttributeValue
from gtqa.spec import Rule
from gtqa.spec.rules import JudgeRule

BoxTuple = tuple[float, float, float, float]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JudgeVerdict(_Frozen):
    """The model's answer, enforced by a strict JSON schema (``response_format``).

    Field order is the generation order: the model writes its reasoning before it commits to a verdict.
    ``confidence`` is checked here rather than in the schema, so the schema keeps to the subset strict
    structured outputs accept; an out-of-range value is rejected like any schema-invalid answer.
    """

    reasoning: str = Field(description="what the image and the label data show, weighed against the rule")
    verdict: Verdict = Field(description="defect: the label breaks the rule; not_defect: it follows it")
    confidence: float = Field(description="probability in [0, 1] that the verdict is right")
    issue_type: IssueType | None = Field(description="the defect's type when verdict is defect, else null")
    rule_ids: list[str] = Field(description="ids of the spec rules the verdict rests on")

    @field_validator("confidence")
    @classmethod
    def _unit_interval(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"confidence {value} is outside [0, 1]")
        return value


class RuleText(_Frozen):
    """A spec rule as the judge reads it: its own prose, verbatim from the compiled spec."""

    id: str
    hash: str = Field(description="the compiled rule's content hash (part of the cache key)")
    prose: str
    question: str | None = Field(default=None, description="a judge rule's yes/no question")
    issue_type: IssueType | None = None

    @classmethod
    def from_rule(cls, rule: Rule) -> RuleText:
        params = rule.params
        if isinstance(params, JudgeRule):
            return cls(
                id=rule.id, hash=rule.hash, prose=rule.prose, question=params.question,
                issue_type=params.issue_type,
            )  # fmt: skip
        return cls(id=rule.id, hash=rule.hash, prose=rule.prose)


class Neighbour(_Frozen):
    """Another label of the same frame near the judged one (``iou`` with the judged box)."""

    id: str
    cls: str
    box: BoxTuple
    iou: float


class LabelData(_Frozen):
    """The judged label as structured data. Everything here is untrusted input: it is shown to the model
    only JSON-encoded inside the data block, never as instructions."""

    id: str
    frame: str
    cls: str
    box: BoxTuple
    truncation: float | None = None
    occlusion: int | None = None
    alpha: float | None = None
    track_id: int | None = None
    dimensions_m: tuple[float, float, float] | None = Field(default=None, description="3D h, w, l")
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    image_size: tuple[int, int] | None = Field(default=None, description="(width, height) in pixels")
    neighbours: tuple[Neighbour, ...] = ()

    @classmethod
    def from_label(
        cls,
        label: Label,
        *,
        neighbours: tuple[Label, ...] = (),
        image_size: tuple[int, int] | None = None,
    ) -> LabelData:
        return cls(
            id=label.id,
            frame=label.frame,
            cls=label.cls,
            box=(label.box.x1, label.box.y1, label.box.x2, label.box.y2),
            truncation=label.truncation,
            occlusion=label.occlusion,
            alpha=label.alpha,
            track_id=label.track_id,
            dimensions_m=(label.cuboid.h, label.cuboid.w, label.cuboid.l) if label.cuboid else None,
            attributes=dict(label.attributes),
            image_size=image_size,
            neighbours=_neighbours(label, neighbours),
        )

    def as_prompt_data(self) -> dict[str, object]:
        """The label as the model sees it (``class`` rather than the Python-safe ``cls``)."""
        data = self.model_dump(mode="json")
        data["class"] = data.pop("cls")
        for neighbour in data["neighbours"]:
            neighbour["class"] = neighbour.pop("cls")
        return data


class Evidence(_Frozen):
    """Why the label was flagged: the check, its message and its score in [0, 1]."""

    check: str
    message: str
    score: float = Field(ge=0.0, le=1.0)
    issue_type: IssueType | None = None

    @classmethod
    def from_finding(cls, finding: Finding) -> Evidence:
        return cls(check=finding.check, message=finding.message, score=finding.score, issue_type=finding.type)


class ImageCrop(_Frozen):
    """A PNG crop around the label, the box drawn on it, as a ``data:image/png;base64,...`` URL."""

    data_url: str
    sha256: str = Field(description="hash of the PNG bytes (part of the cache key)")
    width: int
    height: int
    origin: tuple[int, int] = Field(description="(x, y) of the crop's top-left corner in the image")
    scale: float = Field(description="crop pixels per image pixel")


class JudgeRequest(_Frozen):
    """One question to the judge: does this label follow these rules, given this evidence and image?

    ``prompt`` names a prompt file id; when None, a prompt named after the first rule id is used if one
    exists, else ``review-flag`` (a flagged label, with evidence) or ``prose-rule`` (a judge rule, no flag).
    """

    rules: tuple[RuleText, ...] = Field(min_length=1)
    label: LabelData
    evidence: Evidence | None = None
    image: ImageCrop | None = None
    prompt: str | None = None

    @classmethod
    def from_domain(
        cls,
        rules: Sequence[Rule],
        label: Label,
        *,
        finding: Finding | None = None,
        image: ImageCrop | None = None,
        neighbours: tuple[Label, ...] = (),
        image_size: tuple[int, int] | None = None,
        prompt: str | None = None,
    ) -> JudgeRequest:
        """A request from compiled spec rules, a label, and the finding that flagged it (if any)."""
        return cls(
            rules=tuple(RuleText.from_rule(r) for r in rules),
            label=LabelData.from_label(label, neighbours=neighbours, image_size=image_size),
            evidence=Evidence.from_finding(finding) if finding is not None else None,
            image=image,
            prompt=prompt,
        )

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)


class TokenUsage(_Frozen):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class JudgeResult(_Frozen):
    """A verdict, or needs_human with a ``failure`` and a ``reason``; provenance either way.

    ``usage`` and ``cost_usd`` are those of the call that produced the answer (kept for a cached result,
    whose ``cached`` is True; the run's summary counts only live calls). ``attempts`` counts HTTP requests
    (1 + retries) and is 0 for a cached, disabled or over-budget result.
    """

    verdict: JudgeVerdict | None = None
    failure: JudgeFailure | None = None
    reason: str = ""
    rule_ids: tuple[str, ...] = ()
    model: str
    prompt_id: str
    prompt_version: int
    usage: TokenUsage = TokenUsage()
    cost_usd: float = 0.0
    latency_s: float = 0.0
    cached: bool = False
    attempts: int = 0
    response_id: str | None = None
    cache_key: str = ""

    @model_validator(mode="after")
    def _verdict_xor_failure(self) -> Self:
        if (self.verdict is None) == (self.failure is None):
            raise ValueError("a judge result has either a verdict or a failure")
        return self

    @property
    def needs_human(self) -> bool:
        return self.verdict is None


def _neighbours(label: Label, others: tuple[Label, ...]) -> tuple[Neighbour, ...]:
    others = tuple(o for o in others if o.id != label.id)
    if not others:
        return ()
    ious = iou_matrix(np.array([label.box.as_list()]), np.array([o.box.as_list() for o in others]))[0]
    return tuple(
        Neighbour(id=o.id, cls=o.cls, box=(o.box.x1, o.box.y1, o.box.x2, o.box.y2), iou=round(float(iou), 4))
        for o, iou in zip(others, ious, strict=True)
    )
