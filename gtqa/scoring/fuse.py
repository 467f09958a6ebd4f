"""One flag per (label, issue type), and one per proposed missing object.

Several checks may flag the same label for the same type; they are fused by noisy-OR of their
probabilities (each check an independent witness, which overstates agreement a little: calibration
fitted on audits corrects it). Proposed missing objects from several checks or detectors are merged when
their boxes overlap (IoU >= ``merge_iou``), keeping the strongest box.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from gtqa.domain import Finding, IssueType
from gtqa.domain.boxes import iou_matrix


def review_order(f: Finding) -> tuple[float, str, str, str]:
    """The order flags are listed and reviewed in: most probable first, ties by frame, label, type."""
    return (-f.score, f.frame, f.label or "", f.type.value)


def fuse(findings: Iterable[Finding], *, spec_hash: str = "", merge_iou: float = 0.5) -> list[Finding]:
    groups: dict[tuple[str, str | None, IssueType], list[Finding]] = defaultdict(list)
    missing: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.label is None:
            missing[f.frame].append(f)
        else:
            groups[f.key].append(f)
    fused = [_merge(g, spec_hash) for g in groups.values()]
    for items in missing.values():
        fused.extend(_merge(c, spec_hash) for c in _clusters(items, merge_iou))
    return sorted(fused, key=review_order)


def _clusters(items: list[Finding], merge_iou: float) -> list[list[Finding]]:
    """Greedy clustering, strongest first: each proposal joins the first stronger one it overlaps."""
    items = sorted(items, key=lambda f: -f.score)
    boxes = np.array([f.box for f in items], dtype=np.float64)
    iou = iou_matrix(boxes, boxes)
    owner = list(range(len(items)))
    for j in range(len(items)):
        for i in range(j):
            if owner[i] == i and iou[i, j] >= merge_iou:
                owner[j] = i
                break
    clusters: dict[int, list[Finding]] = defaultdict(list)
    for j, i in enumerate(owner):
        clusters[i].append(items[j])
    return list(clusters.values())


def _merge(group: list[Finding], spec_hash: str) -> Finding:
    group = sorted(group, key=lambda f: -f.score)
    lead = group[0]
    score = 1.0 - float(np.prod([1.0 - f.score for f in group]))
    features: dict[str, float] = {}
    for f in group:
        features[f"raw.{f.check}"] = max(features.get(f"raw.{f.check}", 0.0), f.raw)
        features.update({f"{f.check}.{k}": v for k, v in f.features.items()})
    checks = tuple(dict.fromkeys(f.check for f in group))
    also = [c for c in checks if c != lead.check]
    message = lead.message + (f" (also: {', '.join(also)})" if also else "")
    rules = tuple(dict.fromkeys(r for f in group for r in f.rule_ids))
    return lead.model_copy(
        update={
            "score": min(score, 1.0),
            "features": features,
            "evidence": checks,
            "message": message,
            "rule_ids": rules,
            "spec_hash": spec_hash,
        }
    )
