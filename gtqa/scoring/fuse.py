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

# Boxes overlapping this much are taken for the same object when deciding which flag leads (a typical
# non-maximum-suppression threshold for people, who stand close: 0.5 would keep both of two
# neighbours' boxes apart, 0.1 would merge most neighbours).
FOLLOW_IOU = 0.3


def _knows_its_object(f: Finding) -> bool:
    """A label's flag is about that label; a track gap's proposal is about that track's object."""
    return f.label is not None or f.track is not None


def _may_follow(flag: Finding, leader: Finding) -> bool:
    """Whether ``flag`` may be about the leader's object: unless both know their object (then they are
    two objects, each needing its own decision, however much they overlap). A proposed missing object
    from a detector is a hypothesis: it may be any flagged object it overlaps, and a label may be the
    object such a proposal saw (the proposal is then its likely correction). Two labels are two objects
    (a duplicate has its own flag); so are a label and the proposal of a track's gap (the track's object,
    which has no label in that frame)."""
    return not (_knows_its_object(flag) and _knows_its_object(leader))


def review_order(f: Finding) -> tuple[bool, float, str, str, str]:
    """The order flags are listed and reviewed in: leading flags before followers (``mark_followers``),
    most probable first, ties by frame, label, type."""
    return (f.follows, -f.score, f.frame, f.label or "", f.type.value)


def mark_followers(findings: Iterable[Finding], *, iou: float = FOLLOW_IOU) -> list[Finding]:
    """Say which flags follow another: walking each frame's flags most probable first, a flag whose box
    overlaps (IoU above ``iou``) the box of a leading flag that may be the same object
    (``_may_follow``) is a follower. An auditor reviewing the leader sees it in the same overlay, and a
    second queue item for one object costs a review and finds nothing new, so followers are queued
    after every leader (``review_order``, ``gtqa.scoring.priority``); their probabilities are left as
    they are. Flags on one label lead or follow together (they are one review item). Returns the flags
    in ``review_order``."""
    items = sorted(findings, key=lambda f: (-f.score, f.frame, f.label or "", f.type.value))
    by_frame: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(items):
        by_frame[f.frame].append(i)
    out = list(items)
    for idx in by_frame.values():
        boxes = np.array([items[i].box for i in idx], dtype=np.float64).reshape(-1, 4)
        overlap = iou_matrix(boxes, boxes)
        leads: list[int] = []  # positions in idx
        label_follows: dict[str, bool] = {}
        for a, i in enumerate(idx):
            label = items[i].label
            if label is not None and label in label_follows:
                follows = label_follows[label]
            else:
                follows = any(overlap[a, b] > iou and _may_follow(items[i], items[idx[b]]) for b in leads)
                if label is not None:
                    label_follows[label] = follows
            if not follows:
                leads.append(a)
            if follows != items[i].follows:
                out[i] = items[i].model_copy(update={"follows": follows})
    return sorted(out, key=review_order)


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
    track = next((f.track for f in group if f.track is not None), None)  # a merged proposal keeps it
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
            "track": track,
        }
    )
