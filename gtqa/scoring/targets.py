"""Which flags were real defects, according to past audits: the training targets of the calibration.

Audits speak of objects; flags are what the reviewer raised. The mapping:

* a confirmed defect (``defect`` audit) is credited to **one** flag: among the flags on the label it
  names and the flags whose box overlaps the object's true box (the correction's box when there is
  one, else the audited box; IoU above ``match_iou``), the one whose box overlaps it best. That flag is
  a real defect (1). The other flags on the same object are neither right nor wrong (None): the
  auditor would have found the defect through them too, but one object is one defect, and counting
  each of them as a find would teach the model to queue the same object twice;
* a label an auditor found fine (``not_defect`` on a label) makes that label's flags false alarms (0);
  a place auditors said holds no object (``not_defect`` with a box and no label) makes proposals on it
  (IoU at least ``empty_iou``) false alarms;
* every other flag is unknown (None) — unless its frame was audited exhaustively (every object of the
  frame judged, as in a re-check), where a flag no audit explains is a false alarm (0).

``unsure`` audits are ignored. Flags on one label share their target (they are one review item).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence

from gtqa.domain import Audit, Finding, Verdict
from gtqa.domain.boxes import iou


def audit_targets(
    findings: Sequence[Finding],
    audits: Sequence[Audit],
    *,
    exhaustive_frames: Collection[str] = (),
    match_iou: float = 0.1,
    empty_iou: float = 0.5,
) -> list[float | None]:
    targets: list[float | None] = [0.0 if f.frame in exhaustive_frames else None for f in findings]
    by_frame: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(findings):
        by_frame[f.frame].append(i)
    for audit in audits:
        if audit.verdict == Verdict.not_defect:
            _mark_fine(audit, findings, by_frame[audit.frame], targets, empty_iou)
    for audit in audits:
        if audit.verdict == Verdict.defect:
            _credit(audit, findings, by_frame[audit.frame], targets, match_iou)
    return targets


def _mark_fine(
    audit: Audit, findings: Sequence[Finding], idx: list[int], targets: list[float | None], empty_iou: float
) -> None:
    for i in idx:
        if _is_fine(findings[i], audit, empty_iou):
            targets[i] = 0.0


def _is_fine(f: Finding, audit: Audit, empty_iou: float) -> bool:
    """The flag's label was found fine, or it proposes an object where auditors saw none."""
    if audit.label is not None:
        return f.label == audit.label
    return f.label is None and audit.box is not None and iou(f.box, audit.box.as_list()) >= empty_iou


def _credit(
    audit: Audit, findings: Sequence[Finding], idx: list[int], targets: list[float | None], match_iou: float
) -> None:
    truth = _true_box(audit)
    overlap = {i: iou(findings[i].box, truth) if truth is not None else 0.0 for i in idx}
    on_label = [i for i in idx if audit.label is not None and findings[i].label == audit.label]
    touching = [i for i in idx if overlap[i] > match_iou or i in on_label]
    if not touching:
        return
    best = max(touching, key=lambda i: (overlap[i], i in on_label))
    winner = findings[best].label
    for i in touching:
        if targets[i] == 1.0:
            continue  # already credited to another defect: keep it
        same_item = winner is not None and findings[i].label == winner
        targets[i] = 1.0 if i == best or same_item else None


def _true_box(audit: Audit) -> list[float] | None:
    if audit.corrected is not None:
        return audit.corrected.box.as_list()
    return audit.box.as_list() if audit.box is not None else None
