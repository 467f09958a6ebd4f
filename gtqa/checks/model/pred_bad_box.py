"""A label the detector sees but boxes differently: its best same-class confident proposal overlaps it
only partly, and that proposal is not a better match for another label.

Detectors differ in how tightly their boxes follow labels (a 2D detector trained on the same style of
labels agrees at IoU ~0.85; 3D detections projected to the image at ~0.65), so the disagreement is
measured against the detector's own *typical* IoU with the labels of that class around the frame (the
median best same-class IoU of the labels it matches in the frame's sequence neighbourhood, see
``_proposals.Neighbourhood``; ``default_typical_iou`` when fewer than ``min_pairs`` labels are matched,
as for a single frame without a sequence):

    disagreement = (typical - iou) / (typical - min_iou),   raw = score * disagreement

flagged when ``min_iou <= iou < min(typical, max_iou)``. Below ``min_iou`` the proposal is more likely
another object than the same one boxed differently; from ``max_iou`` up the boxes agree whatever the
detector. Boxes are image pixels.
"""

from __future__ import annotations

import numpy as np

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.model import _proposals as props
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, Frame, IssueType, Label, Requirement
from gtqa.domain.boxes import iou_matrix
from gtqa.domain.geometry import FloatArray


class Params(CheckParams):
    min_score: float = 0.3  # only confident predictions argue with a label's box
    min_iou: float = 0.2  # below this the proposal is taken to be another object
    max_iou: float = 0.8  # at or above this the boxes agree, however tight the detector usually is
    default_typical_iou: float = 0.8  # the detector's usual IoU with labels, when the scope cannot tell
    min_pairs: int = 10  # matched labels of a class needed to measure the detector's typical IoU
    merge_iou: float = 0.5  # predictions overlapping this much (IoU) are one object
    crowd_reach: float = 1.0  # neighbourhood half-width, in label heights, for the crowd feature


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    hood = props.Neighbourhood(scope, min_score=params.min_score)
    out: list[Finding] = []
    for frame, judged in hood.judged_frames():
        typical = {
            cls: _typical_iou(hood.agreement(frame, cls), params)
            for cls in dict.fromkeys(lab.cls for lab in judged)
        }
        out.extend(_frame_findings(scope, frame, judged, typical, params))
    return out


def _typical_iou(agreement: props.ClassAgreement, params: Params) -> float:
    typical, n = agreement.typical_iou(params.min_iou)
    return typical if n >= params.min_pairs else params.default_typical_iou


def _frame_findings(
    scope: ReviewScope, frame: Frame, labels: list[Label], typical: dict[str, float], params: Params
) -> list[Finding]:
    proposals = props.merge_predictions(
        frame.predictions, min_score=params.min_score, merge_iou=params.merge_iou
    )
    if len(proposals) == 0:
        return []
    reviewed = [lab for _, lab in scope.reviewed(frame)]
    all_boxes = props.boxes_of(reviewed)
    boxes = props.boxes_of(labels)
    same = np.array([lab.cls for lab in labels])[:, None] == proposals.classes[None, :]
    iou = np.where(same, iou_matrix(boxes, proposals.boxes), 0.0)
    best = iou.argmax(axis=1)
    best_iou = iou[np.arange(len(labels)), best]
    # The proposal's best IoU with any reviewed label: if another label matches it better, it is that one's.
    owner_iou = iou_matrix(proposals.boxes, all_boxes).max(axis=1)[best]
    top = np.array([typical.get(lab.cls, params.default_typical_iou) for lab in labels])
    top = np.clip(top, params.min_iou + 0.05, None)  # a degenerate typical IoU must not divide by ~0
    disagreement = (top - best_iou) / (top - params.min_iou)
    upper = np.minimum(top, params.max_iou)
    flag = (best_iou >= params.min_iou) & (best_iou < upper) & (best_iou >= owner_iou - 1e-9)
    dc = props.covered_share(boxes, props.boxes_of(scope.dontcare(frame)))
    near = props.neighbours(boxes, all_boxes, reach=params.crowd_reach) - 1
    out = []
    for k in np.flatnonzero(flag):
        j = int(best[k])
        feats = _features(boxes[k], proposals, j, float(best_iou[k]), labels[k], float(dc[k]), int(near[k]))
        feats |= {"typical_iou": float(top[k]), "disagreement": float(disagreement[k])}
        raw = float(proposals.score[j]) * float(disagreement[k])
        out.append(
            CHECK.flag(
                labels[k],
                raw,
                _message(proposals, j, float(best_iou[k]), feats),
                params,
                features=feats,
                proposed_box=(
                    float(proposals.boxes[j][0]),
                    float(proposals.boxes[j][1]),
                    float(proposals.boxes[j][2]),
                    float(proposals.boxes[j][3]),
                ),
            )
        )
    return out


def _features(
    box: FloatArray, proposals: props.Proposals, j: int, iou: float, label: Label, dc: float, near: int
) -> dict[str, float]:
    pred = proposals.boxes[j]
    h = max(float(box[3] - box[1]), 1.0)
    w = max(float(box[2] - box[0]), 1.0)
    ph = max(float(pred[3] - pred[1]), 1.0)
    pw = max(float(pred[2] - pred[0]), 1.0)
    feats = {
        "iou": iou,
        "score": float(proposals.score[j]),
        "best_score": float(proposals.best[j]),
        "n_detectors": float(proposals.n_detectors[j]),
        "height": h,
        "width": w,
        "aspect": h / w,
        "log_height_ratio": float(np.log(ph / h)),  # > 0: the detector's box is taller
        "log_width_ratio": float(np.log(pw / w)),
        "shift_x": float((pred[0] + pred[2] - box[0] - box[2]) / 2 / h),  # centre shift, in label heights
        "shift_y": float((pred[1] + pred[3] - box[1] - box[3]) / 2 / h),
        "max_edge_offset": float(np.abs(pred - box).max() / h),
        "dontcare_share": dc,
        "labels_near": float(near),
    }
    if label.truncation is not None:
        feats["truncation"] = label.truncation
    if label.occlusion is not None:
        feats["occlusion"] = float(label.occlusion)
    return feats


def _message(proposals: props.Proposals, j: int, iou: float, feats: dict[str, float]) -> str:
    b = proposals.boxes[j]
    return (
        f"the detector sees this {proposals.classes[j]} (score {proposals.score[j]:.2f}) but boxes it at "
        f"[{b[0]:.0f}, {b[1]:.0f}, {b[2]:.0f}, {b[3]:.0f}]: IoU {iou:.2f}, "
        f"height x{np.exp(feats['log_height_ratio']):.2f}, width x{np.exp(feats['log_width_ratio']):.2f}"
    )


CHECK = Check(
    id="pred_bad_box",
    fn=check,
    params=Params,
    issue_types=(IssueType.bad_box,),
    family=CheckFamily.model,
    description="labels whose best same-class detection overlaps only partly (the box disagrees)",
    requires=frozenset({Requirement.predictions}),
)
