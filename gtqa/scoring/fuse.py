"""One flag per (label, issue type), and one per proposed missing object.

Several checks may flag the same label for the same type; they are fused by noisy-OR of their
probabilities (each check an independent witness, which overstates agreement a little: calibration
fitted on audits corrects it). Proposed missing objects from several checks or detectors are merged when
their boxes overlap (IoU >= ``merge_iou``), keeping the strongest box.

A proposed object that overlaps a label flagged as a bad box (IoU at least ``absorb_iou`` but below
``merge_iou``) is most likely that label's object, drawn badly: it is folded into the label's flag as
its ``proposed_box`` rather than queued as a second defect, so one object is one review item.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from gtqa.domain import Finding, IssueType
from gtqa.domain.boxes import iou_matrix


def fuse(
    findings: Iterable[Finding], *, spec_hash: str = "", merge_iou: float = 0.5, absorb_iou: float = 0.1
) -> list[Finding]:
    groups: dict[tuple[str, str | None, IssueType], list[Finding]] = defaultdict(list)
    missing: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.label is None:
            missing[f.frame].append(f)
        else:
            groups[f.key].append(f)
    fused = {key: _merge(g, spec_hash) for key, g in groups.items()}
    bad_boxes: dict[str, list[tuple[str, str | None, IssueType]]] = defaultdict(list)
    for key in fused:
        if key[2] is IssueType.bad_box:
            bad_boxes[key[0]].append(key)
    proposals: list[Finding] = []
    for frame, items in missing.items():
        for cluster in _clusters(items, merge_iou):
            proposal = _merge(cluster, spec_hash)
            host = _host(proposal, [fused[k] for k in bad_boxes[frame]], absorb_iou, merge_iou)
            if host is None:
                proposals.append(proposal)
            else:
                fused[host.key] = _absorb(fused[host.key], proposal)
    out = [*fused.values(), *proposals]
    return sorted(out, key=lambda f: (-f.score, f.frame, f.label or "", f.type.value))


def _host(proposal: Finding, bad: list[Finding], lo: float, hi: float) -> Finding | None:
    """The bad-box flag whose label the proposal most overlaps, within [lo, hi) IoU."""
    if not bad:
        return None
    iou = iou_matrix(np.array([proposal.box]), np.array([f.box for f in bad]))[0]
    best = int(iou.argmax())
    return bad[best] if lo <= iou[best] < hi and bad[best].proposed_box is None else None


def _absorb(host: Finding, proposal: Finding) -> Finding:
    score = 1.0 - (1.0 - host.score) * (1.0 - proposal.score)
    box = ", ".join(f"{v:.0f}" for v in proposal.box)
    return host.model_copy(
        update={
            "score": score,
            "proposed_box": proposal.box,
            "evidence": tuple(dict.fromkeys((*host.evidence, *proposal.evidence))),
            "features": {**host.features, **proposal.features},
            "message": f"{host.message}; a detector sees the object at [{box}] ({proposal.check})",
        }
    )


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
