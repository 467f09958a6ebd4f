"""How well each detector supports each label: a weak, broad witness that gives every label the
detectors can judge the same evidence, for the calibration model to weigh.

For every reviewed label of a class the frame's detectors predict, and for every detector separately:
the best IoU with that detector's same-class predictions, the score of that prediction, how many of its
predictions overlap the label (IoU above ``overlap_iou``) and their score-weighted overlap. A label the
detectors support only partly (best agreement ``iou x score`` below ``full_support``) is flagged as a
possible bad box, with

    raw = (1 - support / full_support) * partial

where ``partial`` is 1 when some prediction overlaps the label at least ``min_iou`` and 0 otherwise (a
label nothing overlaps is ``unsupported_label``'s case). On its own this is weak evidence (detectors
disagree with good labels all the time), which its prior says; its value is in the features.
"""

from __future__ import annotations

import numpy as np

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.model import _proposals as props
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, Frame, IssueType, Label, Prediction, Requirement
from gtqa.domain.boxes import iou_matrix


class Params(CheckParams):
    min_score: float = 0.01  # predictions below this are ignored
    min_iou: float = 0.1  # a prediction overlapping less than this is about another object
    overlap_iou: float = 0.3  # predictions overlapping at least this much are counted
    full_support: float = 0.6  # iou x score at which a detector fully supports a label


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    hood = props.Neighbourhood(scope, min_score=params.min_score)
    out: list[Finding] = []
    for frame, judged in hood.judged_frames():
        out.extend(_frame_findings(frame, judged, sorted(hood.detectors(frame)), params))
    return out


def _frame_findings(frame: Frame, labels: list[Label], detectors: list[str], params: Params) -> list[Finding]:
    boxes = props.boxes_of(labels)
    classes = np.array([lab.cls for lab in labels])
    features: list[dict[str, float]] = [{} for _ in labels]
    support = np.zeros(len(labels))
    overlap = np.zeros(len(labels))
    for det in detectors:
        preds = [p for p in frame.predictions if p.detector == det and p.score >= params.min_score]
        iou, scores = _same_class_iou(boxes, classes, preds)
        best = iou.argmax(axis=1) if iou.shape[1] else np.zeros(len(labels), dtype=int)
        best_iou = iou.max(axis=1) if iou.shape[1] else np.zeros(len(labels))
        best_score = scores[best] if len(scores) else np.zeros(len(labels))
        support = np.maximum(support, best_iou * best_score)
        overlap = np.maximum(overlap, best_iou)
        for k in range(len(labels)):
            features[k] |= {
                f"{det}.iou": float(best_iou[k]),
                f"{det}.score": float(best_score[k]),
                f"{det}.n_overlap": float((iou[k] > params.overlap_iou).sum()) if iou.shape[1] else 0.0,
                f"{det}.density": float((iou[k] * scores).sum()) if iou.shape[1] else 0.0,
            }
    raw = np.clip(1.0 - support / params.full_support, 0.0, 1.0) * (overlap >= params.min_iou)
    return [
        CHECK.flag(
            labels[k], float(raw[k]), _message(features[k], detectors), params,
            features={**features[k], "support": float(support[k])},
        )
        for k in np.flatnonzero(raw > 0)
    ]  # fmt: skip


def _same_class_iou(
    boxes: np.ndarray, classes: np.ndarray, preds: list[Prediction]
) -> tuple[np.ndarray, np.ndarray]:
    if not preds:
        return np.zeros((len(boxes), 0)), np.zeros(0)
    iou = iou_matrix(boxes, props.boxes_of(preds))
    same = classes[:, None] == np.array([p.cls for p in preds])[None, :]
    return np.where(same, iou, 0.0), np.array([p.score for p in preds])


def _message(features: dict[str, float], detectors: list[str]) -> str:
    parts = [f"{d}: IoU {features[f'{d}.iou']:.2f} at score {features[f'{d}.score']:.2f}" for d in detectors]
    return "detectors only partly support this box (" + "; ".join(parts) + ")"


CHECK = Check(
    id="detector_support",
    fn=check,
    params=Params,
    issue_types=(IssueType.bad_box,),
    family=CheckFamily.model,
    description="labels the detectors support only partly (per-detector agreement, a weak witness)",
    requires=frozenset({Requirement.predictions}),
)
