"""Detector predictions as proposals: one per object, merged across detectors, plus the context the
model-assisted checks share (which classes a frame's detectors predict, how closely they usually agree
with the labels, crowd density, DontCare share).

Boxes are image pixels ``[x1, y1, x2, y2]``. What a detector predicts and how well it fits the labels
is read from a frame's *neighbourhood*: the frames of its sequence within ``CONTEXT_FRAMES`` of it (the
frame alone when it has no sequence). Every scope that reviews a frame also holds that window, so these
numbers, and the findings built on them, do not depend on how a dataset is chunked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gtqa.checks.scope import CONTEXT_FRAMES, ReviewScope
from gtqa.checks.stats import ClassStats
from gtqa.domain import Frame, Label, Prediction
from gtqa.domain.boxes import intersections, iou_matrix, union_coverage
from gtqa.domain.geometry import FloatArray

IntArray = NDArray[np.int64]
StrArray = NDArray[np.str_]


@dataclass(frozen=True)
class Proposals:
    """Merged predictions of one frame. ``score`` is the noisy-OR of the best score of each agreeing
    detector (one detector: its score); ``best`` the highest single score; ``n_members`` how many raw
    predictions (all detectors) fell on the object."""

    boxes: FloatArray
    classes: StrArray
    score: FloatArray
    best: FloatArray
    n_detectors: IntArray
    n_members: IntArray
    per_detector: tuple[dict[str, float], ...] = ()  # each proposal's best score by detector name

    def __len__(self) -> int:
        return len(self.boxes)


def n_detectors_for(detectors: dict[str, frozenset[str]], cls: str) -> int:
    return sum(cls in classes for classes in detectors.values())


def merge_predictions(preds: Sequence[Prediction], *, min_score: float, merge_iou: float) -> Proposals:
    """Greedy clustering per class, strongest first: each prediction at or above ``min_score`` joins
    the strongest remaining one it overlaps with IoU >= ``merge_iou`` (the same detector's duplicates
    and other detectors' boxes of the same object). The proposal keeps the strongest member's box."""
    kept = [p for p in preds if p.score >= min_score]
    kept.sort(key=lambda p: -p.score)
    if not kept:
        return _empty()
    boxes = np.array([p.box.as_list() for p in kept], dtype=np.float64)
    classes = np.array([p.cls for p in kept])
    scores = np.array([p.score for p in kept], dtype=np.float64)
    detectors = np.array([p.detector for p in kept])
    iou = iou_matrix(boxes, boxes)
    alive = np.ones(len(kept), dtype=bool)
    rows: list[tuple[int, float, int, int]] = []
    per_detector: list[dict[str, float]] = []
    for i in range(len(kept)):  # one pass over leaders; membership is vectorised
        if not alive[i]:
            continue
        members = alive & (classes == classes[i]) & (iou[i] >= merge_iou)
        members[i] = True
        alive &= ~members
        names, per_det = _best_per_detector(detectors[members], scores[members])
        rows.append((i, 1.0 - float(np.prod(1.0 - per_det)), len(per_det), int(members.sum())))
        per_detector.append({str(n): float(v) for n, v in zip(names, per_det, strict=True)})
    lead = np.array([r[0] for r in rows], dtype=np.int64)
    return Proposals(
        boxes=boxes[lead],
        classes=classes[lead],
        score=np.array([r[1] for r in rows], dtype=np.float64),
        best=scores[lead],
        n_detectors=np.array([r[2] for r in rows], dtype=np.int64),
        n_members=np.array([r[3] for r in rows], dtype=np.int64),
        per_detector=tuple(per_detector),
    )


def _best_per_detector(detectors: StrArray, scores: FloatArray) -> tuple[StrArray, FloatArray]:
    names, inverse = np.unique(detectors, return_inverse=True)
    best = np.zeros(len(names))
    np.maximum.at(best, inverse, scores)
    return names, best


def _empty() -> Proposals:
    return Proposals(
        boxes=np.zeros((0, 4)),
        classes=np.array([], dtype=str),
        score=np.zeros(0),
        best=np.zeros(0),
        n_detectors=np.zeros(0, dtype=np.int64),
        n_members=np.zeros(0, dtype=np.int64),
    )


def boxes_of(items: Iterable[Label | Prediction]) -> FloatArray:
    """The boxes of labels or predictions as an (N, 4) array."""
    rows = [item.box.as_list() for item in items]
    return np.array(rows, dtype=np.float64) if rows else np.zeros((0, 4))


def covered_share(boxes: FloatArray, regions: FloatArray) -> FloatArray:
    """Share of each box inside the union of ``regions`` (DontCare, labels); 0 when there are none."""
    return union_coverage(boxes, regions)


def neighbours(boxes: FloatArray, others: FloatArray, *, reach: float) -> IntArray:
    """How many of ``others`` lie near each box: intersecting the box widened by ``reach`` times its
    height on each side (people stand side by side, so the neighbourhood is mostly horizontal) and by
    a quarter of its height above and below."""
    if len(boxes) == 0 or len(others) == 0:
        return np.zeros(len(boxes), dtype=np.int64)
    h = np.clip(boxes[:, 3] - boxes[:, 1], 1.0, None)
    grown = boxes + np.stack([-reach * h, -0.25 * h, reach * h, 0.25 * h], axis=1)
    return np.asarray((intersections(grown, others) > 0).sum(axis=1), dtype=np.int64)


def shape_z(boxes: FloatArray, stats: ClassStats | None) -> tuple[FloatArray, FloatArray]:
    """Robust z-scores of log height and log aspect (height / width) against the class's labels;
    zeros when the class has too few labels for statistics."""
    if stats is None or len(boxes) == 0:
        return np.zeros(len(boxes)), np.zeros(len(boxes))
    w = np.clip(boxes[:, 2] - boxes[:, 0], 1.0, None)
    h = np.clip(boxes[:, 3] - boxes[:, 1], 1.0, None)
    return stats.log_height.z(np.log(h)), stats.log_aspect.z(np.log(h / w))


def soft_band(z: FloatArray, tolerance: float) -> FloatArray:
    """1 inside ``|z| <= tolerance``, then a Gaussian fall-off: how plausible a shape is for its class."""
    excess = np.clip(np.abs(z) - tolerance, 0.0, None)
    return np.asarray(np.exp(-0.5 * excess**2), dtype=np.float64)


def border_distance(boxes: FloatArray, size: tuple[int, int] | None) -> FloatArray | None:
    """Pixels from each box to the nearest image border (negative when it reaches past it)."""
    if size is None or len(boxes) == 0:
        return None
    w, h = size
    d = np.stack([boxes[:, 0], boxes[:, 1], w - boxes[:, 2], h - boxes[:, 3]], axis=1)
    return np.asarray(d.min(axis=1), dtype=np.float64)


@dataclass(frozen=True)
class ClassAgreement:
    """How the labels of one class and the detectors agree around a frame: for every label of the class,
    the best IoU with a same-class prediction and with a prediction of any class (predictions at or above
    the score floor the statistic was built with)."""

    same_iou: FloatArray
    any_iou: FloatArray

    @property
    def n(self) -> int:
        return len(self.same_iou)

    def miss_rate(self, support_iou: float) -> float:
        """Share of labels no prediction overlaps with IoU >= ``support_iou`` (the detector's misses,
        plus the few labels that are wrong)."""
        return float((self.any_iou < support_iou).mean()) if self.n else 0.0

    def typical_iou(self, floor: float) -> tuple[float, int]:
        """Median best same-class IoU among labels matched at IoU >= ``floor``, and how many there were:
        how closely this detector's boxes usually follow the labels."""
        matched = self.same_iou[self.same_iou >= floor]
        return (float(np.median(matched)) if len(matched) else 0.0), len(matched)


class Neighbourhood:
    """Per-frame detector context, computed lazily and cached for one check call. ``min_score`` is the
    prediction score floor for the agreement statistics."""

    def __init__(self, scope: ReviewScope, *, min_score: float = 0.0) -> None:
        self._scope = scope
        self._min_score = min_score
        self._seen: dict[str, dict[str, frozenset[str]]] = {}
        self._ious: dict[str, dict[str, tuple[FloatArray, FloatArray]]] = {}

    def window(self, frame: Frame) -> list[Frame]:
        if frame.sequence is None:
            return [frame]
        seq = self._scope.sequences.get(frame.sequence, [frame])
        return [f for f in seq if abs(f.index - frame.index) <= CONTEXT_FRAMES]

    def detectors(self, frame: Frame) -> dict[str, frozenset[str]]:
        """The detectors that ran on this frame (those with a prediction on it: an empty prediction file
        and a missing one read the same) and the classes each predicts anywhere in the window."""
        present = {p.detector for p in frame.predictions}
        classes: dict[str, set[str]] = {d: set() for d in present}
        for other in self.window(frame):
            for det, seen in self._classes_on(other).items():
                if det in classes:
                    classes[det] |= seen
        return {d: frozenset(c) for d, c in sorted(classes.items())}

    def judged(self, frame: Frame) -> list[Label]:
        """Reviewed labels of the frame whose class one of its detectors predicts."""
        detectors = self.detectors(frame)
        return [lab for _, lab in self._scope.reviewed(frame) if n_detectors_for(detectors, lab.cls)]

    def judged_frames(self) -> Iterator[tuple[Frame, list[Label]]]:
        """The scope's frames that have judged labels, with those labels."""
        for frame in self._scope.frames:
            judged = self.judged(frame)
            if judged:
                yield frame, judged

    def agreement(self, frame: Frame, cls: str) -> ClassAgreement:
        """Best IoUs of the class's labels with predictions, pooled over the window's frames that have
        predictions."""
        same, any_ = [], []
        for other in self.window(frame):
            pair = self._ious_on(other).get(cls)
            if pair is not None:
                same.append(pair[0])
                any_.append(pair[1])
        if not same:
            return ClassAgreement(np.zeros(0), np.zeros(0))
        return ClassAgreement(np.concatenate(same), np.concatenate(any_))

    def _classes_on(self, frame: Frame) -> dict[str, frozenset[str]]:
        if frame.id not in self._seen:
            seen: dict[str, set[str]] = defaultdict(set)
            for p in frame.predictions:
                seen[p.detector].add(p.cls)
            self._seen[frame.id] = {d: frozenset(c) for d, c in seen.items()}
        return self._seen[frame.id]

    def _ious_on(self, frame: Frame) -> dict[str, tuple[FloatArray, FloatArray]]:
        if frame.id not in self._ious:
            self._ious[frame.id] = _label_ious(self._scope, frame, self._min_score)
        return self._ious[frame.id]


def _label_ious(
    scope: ReviewScope, frame: Frame, min_score: float
) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Per class, each reviewed label's best IoU with a same-class prediction and with any prediction
    (scores >= ``min_score``); nothing for a frame without predictions (not covered)."""
    labels = [lab for _, lab in scope.reviewed(frame)]
    if not labels or not frame.predictions:
        return {}
    preds = [p for p in frame.predictions if p.score >= min_score]
    iou = iou_matrix(boxes_of(labels), boxes_of(preds))
    label_cls = np.array([lab.cls for lab in labels])
    pred_cls = np.array([p.cls for p in preds])
    same = np.where(label_cls[:, None] == pred_cls[None, :], iou, 0.0)
    out = {}
    for cls in np.unique(label_cls):
        rows = label_cls == cls
        out[str(cls)] = (_row_best(same[rows]), _row_best(iou[rows]))
    return out


def _row_best(m: FloatArray) -> FloatArray:
    return np.asarray(m.max(axis=1), dtype=np.float64) if m.shape[1] else np.zeros(m.shape[0])
