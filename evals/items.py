"""Review items: what an auditor looks at, built from a findings list.

A *review item* is one label (every flag on it collapses into one item, scored by the highest flag:
the auditor opens the label once, whatever the reasons) or one proposed missing object (each
``missing_object`` flag with no label is its own item). Items are ranked as the queue ranks them:
leading items before followers (``gtqa.scoring.mark_followers``: an item whose flags all follow a more
probable flag on the same object), then by score, highest first; equal scores keep the order in which
their first flag appears in the findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gtqa.domain import Finding, IssueType
from gtqa.domain.boxes import iou_matrix

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class ReviewItem:
    frame: str
    label: str | None
    box: Box
    score: float
    types: frozenset[IssueType]
    order: int  # position of the item's first flag in the findings (the tie-break)
    follows: bool = False  # every flag of the item follows a flag on another object

    @property
    def is_missing(self) -> bool:
        return self.label is None


def review_items(findings: list[Finding]) -> list[ReviewItem]:
    """Collapse findings into ranked review items (see the module docstring)."""
    items: list[ReviewItem] = []
    by_label: dict[tuple[str, str], int] = {}
    for order, f in enumerate(findings):
        if f.label is None:
            items.append(ReviewItem(f.frame, None, f.box, f.score, frozenset({f.type}), order, f.follows))
            continue
        key = (f.frame, f.label)
        if key not in by_label:
            by_label[key] = len(items)
            items.append(ReviewItem(f.frame, f.label, f.box, f.score, frozenset({f.type}), order, f.follows))
            continue
        old = items[by_label[key]]
        box = f.box if f.score > old.score else old.box
        items[by_label[key]] = ReviewItem(
            old.frame,
            old.label,
            box,
            max(old.score, f.score),
            old.types | {f.type},
            old.order,
            old.follows and f.follows,
        )
    return sorted(items, key=lambda i: (i.follows, -i.score, i.order))


def as_array(boxes: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Boxes as an (N, 4) float array (N may be 0)."""
    return np.array(boxes, dtype=np.float64).reshape(-1, 4)


def ious_with(box: Box, boxes: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """The IoU of ``box`` with each of ``boxes``: shape (N,), empty when there are none."""
    return np.asarray(iou_matrix(as_array([box]), as_array(boxes))[0], dtype=np.float64)
