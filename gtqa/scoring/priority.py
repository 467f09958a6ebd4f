"""Review priority: the order auditors see flags in, probability x severity weight (from the spec).

The class whose severity counts is the labelled class when the caller knows it (``cls``), else the
finding's own ``cls``: a proposed missing object has no label but knows the class it was proposed as, so a
missing pedestrian weighs as a pedestrian, not as an unknown object.

A follower (``gtqa.scoring.fuse.mark_followers``) keeps its probability but its priority is scaled by
``FOLLOWER_WEIGHT``, which queues it behind every leading flag above a thousandth of its priority.
"""

from __future__ import annotations

from gtqa.domain import Finding
from gtqa.spec import CompiledSpec

FOLLOWER_WEIGHT = 1e-3


def priority(finding: Finding, spec: CompiledSpec, cls: str | None = None) -> float:
    weight = spec.severity(finding.type, cls if cls is not None else finding.cls).weight
    return finding.score * weight * (FOLLOWER_WEIGHT if finding.follows else 1.0)
