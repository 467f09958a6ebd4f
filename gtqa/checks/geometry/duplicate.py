"""Two labels of the same class on one object: high IoU between labels of a frame.

The later label of a pair (by position in the file) is flagged, so one duplicate gives one flag.
"""

from __future__ import annotations

import numpy as np

from gtqa.checks.base import Check, CheckParams, label_finding
from gtqa.checks.boxes import iou_matrix
from gtqa.checks.scope import ReviewScope
from gtqa.domain import Finding, IssueType


class Params(CheckParams):
    min_iou: float = 0.5  # below this, two boxes are two objects (crowds overlap up to ~0.5)
    full_iou: float = 0.85  # at or above this the evidence is full strength
    same_class_only: bool = False  # False: a Car and a Van on one object are also a duplicate


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        reviewed = scope.reviewed(frame)
        if len(reviewed) < 2:
            continue
        boxes = frame.label_boxes()[[i for i, _ in reviewed]]
        iou = np.triu(iou_matrix(boxes, boxes), k=1)  # pairs (earlier, later)
        if params.same_class_only:
            classes = np.array([lab.cls for _, lab in reviewed])
            iou = np.where(classes[:, None] == classes[None, :], iou, 0.0)
        best = iou.max(axis=0)
        partner = iou.argmax(axis=0)
        for j in np.flatnonzero(best >= params.min_iou):
            label, other = reviewed[j][1], reviewed[partner[j]][1]
            raw = (best[j] - params.min_iou) / max(params.full_iou - params.min_iou, 1e-6)
            raw = 0.5 + 0.5 * min(raw, 1.0)
            same = label.cls == other.cls
            out.append(
                label_finding(
                    label,
                    IssueType.duplicate,
                    raw if same else raw * 0.8,
                    CHECK.id,
                    f"overlaps {other.id} ({other.cls}) with IoU {best[j]:.2f}",
                    params,
                    features={"iou": float(best[j]), "same_class": float(same)},
                )
            )
    return out


CHECK = Check(
    id="duplicate",
    fn=check,
    params=Params,
    issue_types=(IssueType.duplicate,),
    family="geometry",
    description="two labels on one object (IoU above a threshold)",
)
