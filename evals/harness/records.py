"""One eval item per flag: what the reviewer said about it, and what the auditors said.

``outcome`` is the audit outcome of ``gtqa.scoring.targets.audit_targets``: 1 the flag was a real
defect, 0 a false alarm, None unknown (no human audited it: unknown, never counted as wrong).

Items are joined across runs by ``key``: ``frame|label|type`` for a flag on a label (the judge's own
``flag_key``), ``frame|missing@x1,y1,x2,y2`` (whole pixels) for a proposed missing object, whose
proposals are also matched by box overlap when their rounded boxes differ (``evals.harness.pairing``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from gtqa.domain import Finding, IssueType, JudgeOpinion

Box = tuple[float, float, float, float]
UNKNOWN = "unknown"


class JudgeRecord(BaseModel):
    """The judge's opinion of one flag, as an eval keeps it (``failure`` set when it could not answer)."""

    model_config = ConfigDict(frozen=True)

    verdict: str | None = None
    confidence: float | None = None
    failure: str | None = None
    prompt_id: str = ""
    prompt_version: int = 0
    model: str = ""
    cached: bool = False
    cost_usd: float = 0.0

    @classmethod
    def from_opinion(cls, opinion: JudgeOpinion) -> JudgeRecord:
        return cls(
            verdict=opinion.verdict, confidence=opinion.confidence, failure=opinion.failure,
            prompt_id=opinion.prompt_id, prompt_version=opinion.prompt_version, model=opinion.model,
            cached=opinion.cached, cost_usd=opinion.cost_usd,
        )  # fmt: skip


class EvalItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    frame: str
    sequence: str
    label: str | None
    type: IssueType
    cls: str | None
    check: str
    box: Box
    score: float
    heuristic_score: float | None = None
    needs_human: bool = False
    follows: bool = False  # follows a more probable flag on the same object (gtqa.scoring.mark_followers)
    judge: JudgeRecord | None = None
    outcome: int | None = None
    vendor: str = UNKNOWN

    @property
    def known(self) -> bool:
        return self.outcome is not None


def sequence_of(frame_id: str) -> str:
    """A frame's sequence: the id's prefix before '/' (``0016/000042`` -> ``0016``), else the frame."""
    head, sep, _ = frame_id.partition("/")
    return head if sep else frame_id


def item_key(f: Finding) -> str:
    if f.label is not None:
        return f"{f.frame}|{f.label}|{f.type.value}"
    x1, y1, x2, y2 = (round(v) for v in f.box)
    return f"{f.frame}|missing@{x1},{y1},{x2},{y2}"


def make_item(f: Finding, outcome: float | None, vendor: str) -> EvalItem:
    return EvalItem(
        key=item_key(f), frame=f.frame, sequence=sequence_of(f.frame), label=f.label, type=f.type,
        cls=f.cls, check=f.check, box=f.box, score=f.score, heuristic_score=f.heuristic_score,
        needs_human=f.needs_human, follows=f.follows,
        judge=JudgeRecord.from_opinion(f.judge) if f.judge else None,
        outcome=None if outcome is None else int(outcome), vendor=vendor or UNKNOWN,
    )  # fmt: skip
