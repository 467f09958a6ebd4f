"""Which flags were real defects, according to past audits: the training targets of the calibration.

A flag on a label is a real defect (1) when an auditor confirmed a defect on that label, and not one (0)
when an auditor found the label fine; a proposed missing object is a real defect when its box overlaps
(IoU above ``match_iou``) the box of a confirmed defect audit of its frame (the object's true box: a
correction's box when there is one), and not one when it lands on a place auditors said holds no
object. Anything else is *unknown* (None) — unless its frame was audited exhaustively (every object of
the frame was judged, as in a re-check), where a flag no defect explains is a false alarm (0).
``unsure`` audits are ignored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence

import numpy as np

from gtqa.domain import Audit, Finding, IssueType, Verdict
from gtqa.domain.boxes import iou_matrix

_OBJECT_DEFECTS = {IssueType.missing_object, IssueType.bad_box}


def audit_targets(
    findings: Sequence[Finding],
    audits: Sequence[Audit],
    *,
    exhaustive_frames: Collection[str] = (),
    match_iou: float = 0.1,
    empty_iou: float = 0.5,
) -> list[float | None]:
    by_label: dict[str, list[Audit]] = defaultdict(list)
    by_frame: dict[str, list[Audit]] = defaultdict(list)
    for audit in audits:
        if audit.verdict is Verdict.unsure:
            continue
        if audit.label is not None:
            by_label[audit.label].append(audit)
        by_frame[audit.frame].append(audit)
    return [_target(f, by_label, by_frame, exhaustive_frames, match_iou, empty_iou) for f in findings]


def _target(
    f: Finding,
    by_label: dict[str, list[Audit]],
    by_frame: dict[str, list[Audit]],
    exhaustive: Collection[str],
    match_iou: float,
    empty_iou: float,
) -> float | None:
    if f.label is not None:
        verdicts = {a.verdict for a in by_label.get(f.label, [])}
        if Verdict.defect in verdicts:
            return 1.0
        if Verdict.not_defect in verdicts:
            return 0.0
    else:
        found = _missing_target(f, by_frame.get(f.frame, []), match_iou, empty_iou)
        if found is not None:
            return found
    return 0.0 if f.frame in exhaustive else None


def _missing_target(f: Finding, audits: list[Audit], match_iou: float, empty_iou: float) -> float | None:
    defects = [
        _true_box(a) for a in audits if a.verdict is Verdict.defect and a.issue_type in _OBJECT_DEFECTS
    ]
    empties = [
        a.box.as_list()
        for a in audits
        if a.verdict is Verdict.not_defect and a.label is None and a.box is not None
    ]
    box = np.array([f.box], dtype=np.float64)
    found = [b for b in defects if b is not None]
    if found and iou_matrix(box, np.array(found)).max() > match_iou:
        return 1.0
    if empties and iou_matrix(box, np.array(empties)).max() >= empty_iou:
        return 0.0
    return None


def _true_box(audit: Audit) -> list[float] | None:
    if audit.corrected is not None:
        return audit.corrected.box.as_list()
    return audit.box.as_list() if audit.box is not None else None
