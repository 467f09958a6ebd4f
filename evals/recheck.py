"""Scoring against a real past audit: the crowd re-check of KITTI pedestrians (``kitti_rechecked``).

The protocol of ``kitti_rechecked/SOURCE.md`` (which boxes are errors: ``gtqa.formats.recheck``):

* a re-checked box is a real pedestrian when ``probability >= 0.5``; it is ignored when it is lower than
  25 px (the ``height`` column) or when at least half of its area lies inside one DontCare region of
  its frame;
* a real pedestrian whose best IoU with every original Pedestrian label of its frame is below 0.5 is a
  label error: *overlooked* when that IoU is 0, *misfitting* otherwise;
* flags are taken in order of score; a flagged box (a proposed missing object, or a flagged label's
  box) finds an error when its IoU with a not-yet-found error box of the same frame is above 0.1 (the
  best-overlapping one is taken). Every other flag is a false alarm: unlike the injected scoring, the
  protocol has no neutral flags.
* reported: AP over the ranked flags, and precision and recall among the top 50 / 100 / 200.

Flags are the review items of :mod:`evals.items` (several flags on one label are one flag, at their
highest score), so a label flagged for two reasons is not counted twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from evals.items import as_array, ious_with, review_items
from evals.ranking import average_precision, precision_at, recall_at
from gtqa.domain import Finding
from gtqa.formats.recheck import (
    ErrorKind,
    RecheckError,
    RecheckProtocol,
    RecheckRow,
    read_recheck,
    recheck_errors,
)

__all__ = [
    "ErrorKind",
    "RecheckError",
    "RecheckProtocol",
    "RecheckRow",
    "RecheckScore",
    "read_recheck",
    "recheck_errors",
    "score_recheck",
]

TOP_K = (50, 100, 200)


class RecheckScore(BaseModel):
    model_config = ConfigDict(frozen=True)

    n_errors: int
    n_overlooked: int
    n_misfitting: int
    n_flags: int
    hits: int
    found_overlooked: int
    found_misfitting: int
    ap: float
    precision_at: dict[str, float]
    recall_at: dict[str, float]


def score_recheck(
    findings: list[Finding],
    errors: Sequence[RecheckError],
    *,
    find_iou: float = 0.1,
    top_k: Sequence[int] = TOP_K,
) -> RecheckScore:
    by_frame: dict[str, list[int]] = {}
    for i, e in enumerate(errors):
        by_frame.setdefault(e.frame, []).append(i)
    boxes = as_array([e.box for e in errors])
    found = np.zeros(len(errors), dtype=bool)
    hits: list[bool] = []
    items = review_items(findings)
    for item in items:
        idx = np.array(by_frame.get(item.frame, []), dtype=int)
        idx = idx[~found[idx]]  # the frame's errors not found yet
        ious = ious_with(item.box, boxes[idx])
        hit = bool(len(ious)) and float(ious.max()) > find_iou
        if hit:
            found[idx[int(ious.argmax())]] = True
        hits.append(hit)
    n = len(errors)
    kinds = np.array([e.kind == ErrorKind.overlooked for e in errors], dtype=bool)
    return RecheckScore(
        n_errors=n,
        n_overlooked=int(kinds.sum()),
        n_misfitting=int((~kinds).sum()),
        n_flags=len(items),
        hits=int(found.sum()),
        found_overlooked=int((found & kinds).sum()),
        found_misfitting=int((found & ~kinds).sum()),
        ap=average_precision(hits, n),
        precision_at={str(k): precision_at(hits, k) for k in top_k},
        recall_at={str(k): recall_at(hits, k, n) for k in top_k},
    )
