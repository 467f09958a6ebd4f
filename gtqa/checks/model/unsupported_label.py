"""A label no detection supports: IoU below ``max_iou`` with every prediction of any class scoring at
least ``min_score`` (a low bar: any hint of an object there is support).

Judged only on frames a detector ran on (it left predictions there) and for classes the frame's
detectors predict. Detectors miss small, occluded, truncated and crowded objects, so silence about such
a label is weak evidence; silence about a large, clear, isolated label is strong. The raw evidence is

    (1 - best_iou / max_iou) * size * visibility * (1 - truncation) * (1 - overlap) * reliability

with ``size = 1 - exp(-height / height_scale_px)``, ``visibility`` from the occlusion level
(``occlusion_factors``; unknown occlusion uses the last entry) and ``overlap`` the largest share of the
label covered by another label. ``reliability = 1 / (1 + miss_rate / prior_rate)`` is the posterior
shape of "the label is spurious given the detector is silent": silence is worth little from a detector
that is silent on many labels of the class anyway. ``miss_rate`` is the share of the class's labels
without support in the frame's sequence neighbourhood (see ``_proposals.Neighbourhood``), and
``default_miss_rate`` when that holds fewer than ``min_labels`` of them (a frame without a sequence).
"""

from __future__ import annotations

import numpy as np

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.model import _proposals as props
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, Frame, IssueType, Label, Requirement
from gtqa.domain.boxes import coverage_matrix, iou_matrix
from gtqa.domain.geometry import FloatArray


class Params(CheckParams):
    min_score: float = 0.05  # predictions at or above this count as support
    max_iou: float = 0.3  # a prediction overlapping a label this much (IoU) supports it
    height_scale_px: float = 40.0  # detectors find a label of this height with ~63% of full weight
    occlusion_factors: tuple[float, float, float, float] = (1.0, 0.6, 0.3, 0.7)  # level 0, 1, 2, unknown
    prior_rate: float = 0.05  # assumed share of spurious labels, against which miss rates are weighed
    default_miss_rate: float = 0.05  # the detector's miss rate when the scope has too few labels
    min_labels: int = 20  # labels of a class needed to measure the detector's miss rate


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    hood = props.Neighbourhood(scope, min_score=params.min_score)
    out: list[Finding] = []
    for frame, judged in hood.judged_frames():
        miss = {
            cls: _miss_rate(hood.agreement(frame, cls), params)
            for cls in dict.fromkeys(lab.cls for lab in judged)
        }
        out.extend(_frame_findings(scope, frame, judged, miss, params))
    return out


def _miss_rate(agreement: props.ClassAgreement, params: Params) -> float:
    return (
        agreement.miss_rate(params.max_iou) if agreement.n >= params.min_labels else params.default_miss_rate
    )


def _frame_findings(
    scope: ReviewScope, frame: Frame, labels: list[Label], miss: dict[str, float], params: Params
) -> list[Finding]:
    preds = [p for p in frame.predictions if p.score >= params.min_score]
    pred_boxes = props.boxes_of(preds)
    scores = np.array([p.score for p in preds], dtype=np.float64)
    boxes = props.boxes_of(labels)
    iou = iou_matrix(boxes, pred_boxes)
    best = iou.max(axis=1) if len(preds) else np.zeros(len(labels))
    unsupported = np.flatnonzero(best < params.max_iou)
    if len(unsupported) == 0:
        return []
    overlap = _overlap_with_others(labels, [lab for _, lab in scope.reviewed(frame)])
    dc = props.covered_share(boxes, props.boxes_of(scope.dontcare(frame)))
    out = []
    for k in unsupported:
        label = labels[k]
        near_score = float(np.where(iou[k] > 0, scores, 0.0).max()) if len(preds) else 0.0
        miss_rate = miss.get(label.cls, params.default_miss_rate)
        feats = _features(label, float(best[k]), near_score, float(overlap[k]), float(dc[k]), miss_rate)
        raw = _raw(label, feats, params)
        out.append(CHECK.flag(label, raw, _message(label, feats), params, features=feats))
    return out


def _overlap_with_others(labels: list[Label], reviewed: list[Label]) -> FloatArray:
    """Largest share of each label covered by another reviewed label of the frame."""
    cov = coverage_matrix(props.boxes_of(labels), props.boxes_of(reviewed))
    itself = np.array([lab.id for lab in labels])[:, None] == np.array([r.id for r in reviewed])[None, :]
    cov = np.where(itself, 0.0, cov)
    return cov.max(axis=1) if cov.shape[1] else np.zeros(len(labels))


def _features(
    label: Label, best_iou: float, near_score: float, overlap: float, dc: float, miss_rate: float
) -> dict[str, float]:
    feats = {
        "best_iou": best_iou,
        "best_score_overlapping": near_score,
        "height": label.box.height,
        "width": label.box.width,
        "aspect": label.box.height / max(label.box.width, 1.0),
        "overlap_with_other_labels": overlap,
        "dontcare_share": dc,
        "class_miss_rate": miss_rate,
    }
    if label.occlusion is not None:
        feats["occlusion"] = float(label.occlusion)
    if label.truncation is not None:
        feats["truncation"] = label.truncation
    return feats


def _raw(label: Label, feats: dict[str, float], params: Params) -> float:
    gap = 1.0 - feats["best_iou"] / max(params.max_iou, 1e-6)
    size = 1.0 - float(np.exp(-max(feats["height"], 0.0) / max(params.height_scale_px, 1e-6)))
    level = label.occlusion if label.occlusion is not None and 0 <= label.occlusion <= 2 else 3
    visible = params.occlusion_factors[level]
    inside = 1.0 - (label.truncation or 0.0)
    reliability = 1.0 / (1.0 + feats["class_miss_rate"] / max(params.prior_rate, 1e-6))
    return gap * size * visible * inside * (1.0 - feats["overlap_with_other_labels"]) * reliability


def _message(label: Label, feats: dict[str, float]) -> str:
    return (
        f"no detection supports this {label.cls} ({feats['height']:.0f} px high): best IoU with any "
        f"prediction {feats['best_iou']:.2f}"
    )


CHECK = Check(
    id="unsupported_label",
    fn=check,
    params=Params,
    issue_types=(IssueType.spurious_object,),
    family=CheckFamily.model,
    description="labels no detection of any class supports (on frames and classes the detector covers)",
    requires=frozenset({Requirement.predictions}),
)
