"""A label the detector confidently calls something else: a prediction of another class matches its box
(IoU >= ``min_iou``, score >= ``min_score``) and no same-class prediction there is as confident.

Only labels whose class the frame's detectors predict are judged (a detector without a ``Van`` class
calls every van a ``Car``). The evidence is the other class's confidence times the absence of the
labelled class: ``other_score * (1 - same_score)``, where ``same_score`` is the best same-class score
among predictions overlapping the label with IoU >= ``same_iou`` at any confidence. It is raised a
little when the spec lists the two classes as confusable (the mistake is a known one).
"""

from __future__ import annotations

import numpy as np

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.model import _proposals as props
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, Frame, IssueType, Label, Requirement
from gtqa.domain.boxes import iou_matrix


class Params(CheckParams):
    min_score: float = 0.5  # only a confident other-class prediction argues with a label's class
    min_iou: float = 0.5  # the other-class prediction must match the label's box this well
    same_iou: float = 0.3  # same-class predictions overlapping this much count as "there"
    merge_iou: float = 0.5  # predictions overlapping this much (IoU) are one object
    confusable_boost: float = 0.2  # raw x (1 + boost) when the spec lists the classes as confusable


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    hood = props.Neighbourhood(scope)
    out: list[Finding] = []
    for frame, judged in hood.judged_frames():
        out.extend(_frame_findings(scope, frame, judged, params))
    return out


def _frame_findings(scope: ReviewScope, frame: Frame, labels: list[Label], params: Params) -> list[Finding]:
    proposals = props.merge_predictions(frame.predictions, min_score=0.0, merge_iou=params.merge_iou)
    if len(proposals) == 0:
        return []
    boxes = props.boxes_of(labels)
    iou = iou_matrix(boxes, proposals.boxes)
    classes = np.array([lab.cls for lab in labels])
    same = classes[:, None] == proposals.classes[None, :]
    same_score = np.where(same & (iou >= params.same_iou), proposals.score[None, :], 0.0).max(axis=1)
    other_ok = ~same & (iou >= params.min_iou) & (proposals.score[None, :] >= params.min_score)
    other_score = np.where(other_ok, proposals.score[None, :], 0.0)
    best = other_score.argmax(axis=1)
    rows = np.arange(len(labels))
    flag = other_ok[rows, best] & (same_score < other_score[rows, best])
    out = []
    for k in np.flatnonzero(flag):
        j = int(best[k])
        out.append(_finding(scope, labels[k], proposals, j, float(iou[k, j]), float(same_score[k]), params))
    return out


def _finding(
    scope: ReviewScope,
    label: Label,
    proposals: props.Proposals,
    j: int,
    iou: float,
    same_score: float,
    params: Params,
) -> Finding:
    other = str(proposals.classes[j])
    class_def = scope.spec.taxonomy.classes.get(label.cls)
    confusable = bool(class_def and other in class_def.confusable)
    score = float(proposals.score[j])
    raw = score * (1.0 - same_score) * (1.0 + params.confusable_boost * confusable)
    feats = {
        "other_score": score,
        "same_score": same_score,
        "iou": iou,
        "n_detectors": float(proposals.n_detectors[j]),
        "confusable": float(confusable),
        "height": label.box.height,
        "aspect": label.box.height / max(label.box.width, 1.0),
    }
    if label.occlusion is not None:
        feats["occlusion"] = float(label.occlusion)
    if label.truncation is not None:
        feats["truncation"] = label.truncation
    message = (
        f"labelled {label.cls}, but the detector calls it {other} (score {score:.2f}, IoU {iou:.2f}); "
        f"best {label.cls} score there {same_score:.2f}"
    )
    return CHECK.flag(label, raw, message, params, features=feats)


CHECK = Check(
    id="pred_wrong_class",
    fn=check,
    params=Params,
    issue_types=(IssueType.wrong_class,),
    family=CheckFamily.model,
    description="labels a confident detection of another class matches, with no same-class detection",
    requires=frozenset({Requirement.predictions}),
    rule_ids=("taxonomy",),
)
