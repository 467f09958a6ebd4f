"""Why an item was flagged, as the review page shows it above the fold: the reason, the probability in
words, what each check contributed, and the detection the flag was reasoned from.

Pure functions of an item's context (no database, no I/O), so they are tested without a server. Boxes are
in image pixels ``[x1, y1, x2, y2]``.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from api.schemas.findings import FindingOut
from api.schemas.queue import ItemContextOut
from gtqa.checks.registry import CHECKS
from gtqa.domain import IssueType, Label, Prediction, Requirement
from gtqa.domain.boxes import iou

# Below this overlap a detection is about another object: never shown as the flag's match.
MIN_MATCH_IOU = 0.1


class Contribution(BaseModel):
    check: str
    strength: float = Field(description="the check's own evidence strength in [0, 1] (its raw score)")
    about: str = Field(description="what the check looks for (the registry's description)")


class Why(BaseModel):
    reason: str = Field(description="the flag's message, or why a spot check is shown")
    probability: float | None = Field(description="the chance the flag is a real defect, in [0, 1]")
    wording: str = Field(description="the probability in words")
    contributions: list[Contribution] = Field(description="the checks that contributed, strongest first")
    match: Prediction | None = Field(description="the detection the flag was reasoned from, if any")
    match_iou: float | None = Field(description="that detection's IoU with the flagged box")


def why(context: ItemContextOut) -> Why:
    finding = context.finding
    if finding is None:
        return Why(
            reason="A random label nobody flagged, drawn to measure what the flags miss: is it right?",
            probability=None, wording="spot check: no flag, no probability", contributions=[],
            match=None, match_iou=None,
        )  # fmt: skip
    match = matching_detection(finding, context.label, context.predictions)
    return Why(
        reason=finding.message,
        probability=finding.score,
        wording=wording(finding.score, judged=finding.judge is not None),
        contributions=contributions(finding),
        match=match,
        match_iou=None if match is None else iou(_box(match), finding.box),
    )


def wording(probability: float, *, judged: bool) -> str:
    """The probability as "73% chance this flag is a real defect"; never 0% or 100% (under 1%, over 99%)."""
    pct = probability * 100
    said = "under 1%" if pct < 1 else "over 99%" if pct > 99 else f"{pct:.0f}%"
    return f"{said} chance this flag is a real defect" + (" (the judge's opinion included)" if judged else "")


def contributions(finding: FindingOut) -> list[Contribution]:
    """Every check that supported the flag with a strength above zero, strongest first."""
    strengths = {c: finding.features.get(f"raw.{c}", finding.raw if c == finding.check else 0.0)
                 for c in dict.fromkeys([finding.check, *finding.evidence])}  # fmt: skip
    about = {c.id: c.description for c in CHECKS}
    kept = [Contribution(check=c, strength=s, about=about.get(c, "")) for c, s in strengths.items() if s > 0]
    return sorted(kept, key=lambda c: -c.strength)


def matching_detection(
    finding: FindingOut, label: Label | None, predictions: Sequence[Prediction]
) -> Prediction | None:
    """The detection the flag was reasoned from, or None when no contributing check reads detections.

    A proposed box (a bad box's, a missing object's) is a detection: the one that overlaps it most. A
    wrong class is argued by a detection of another class than the label's, the most confident one on
    the box; otherwise the detection of the flag's class that overlaps the flagged box most.
    """
    if not _reads_detections(finding) or not predictions:
        return None
    if finding.proposed_box is not None or finding.label is None:
        target = finding.proposed_box or finding.box
        same = [p for p in predictions if finding.cls is None or p.cls == finding.cls]
        return _best(same or list(predictions), target, by_score=False)
    if finding.type is IssueType.wrong_class and label is not None:
        return _best([p for p in predictions if p.cls != label.cls], finding.box, by_score=True)
    return _best([p for p in predictions if p.cls == finding.cls], finding.box, by_score=False)


def _reads_detections(finding: FindingOut) -> bool:
    readers = {c.id for c in CHECKS if Requirement.predictions in c.requires}
    return any(c.check in readers for c in contributions(finding))


def _best(candidates: Sequence[Prediction], box: Sequence[float], *, by_score: bool) -> Prediction | None:
    near = [(iou(_box(p), box), p) for p in candidates]
    near = [(o, p) for o, p in near if o >= MIN_MATCH_IOU]
    if not near:
        return None
    return max(near, key=lambda t: (t[1].score, t[0]) if by_score else (t[0], t[1].score))[1]


def _box(p: Prediction) -> tuple[float, float, float, float]:
    return (p.box.x1, p.box.y1, p.box.x2, p.box.y2)
