"""Vectorised box geometry over (N, 4) arrays of ``[x1, y1, x2, y2]`` pixel boxes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gtqa.domain.geometry import FloatArray


def areas(boxes: FloatArray) -> FloatArray:
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def intersections(a: FloatArray, b: FloatArray) -> FloatArray:
    """Pairwise intersection areas, shape (len(a), len(b))."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    return np.asarray(np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None), dtype=np.float64)


def iou_matrix(a: FloatArray, b: FloatArray) -> FloatArray:
    inter = intersections(a, b)
    union = areas(a)[:, None] + areas(b)[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def iou(a: Sequence[float] | FloatArray, b: Sequence[float] | FloatArray) -> float:
    """The IoU of one pair of boxes, as ``iou_matrix`` computes it (an inverted box has no area), for
    callers that compare one pair at a time: plain floats, without numpy's cost per call."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = float(iw * ih)
    union = _area(a) + _area(b) - inter
    return inter / union if union > 0 else 0.0


def _area(box: Sequence[float] | FloatArray) -> float:
    return float(max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0))


def coverage_matrix(a: FloatArray, b: FloatArray) -> FloatArray:
    """Share of each box of ``a`` covered by each box of ``b`` (intersection / area of a)."""
    inter = intersections(a, b)
    area = areas(a)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(area > 0, inter / area, 0.0)


def union_coverage(a: FloatArray, b: FloatArray, grid: int = 16) -> FloatArray:
    """Share of each box of ``a`` covered by the union of the boxes ``b`` (sampled on a grid per box;
    exact unions of many boxes are not worth their cost here)."""
    if len(a) == 0:
        return np.zeros(0)
    if len(b) == 0:
        return np.zeros(len(a))
    t = (np.arange(grid) + 0.5) / grid
    xs = a[:, 0:1] + t[None, :] * (a[:, 2:3] - a[:, 0:1])  # (N, G)
    ys = a[:, 1:2] + t[None, :] * (a[:, 3:4] - a[:, 1:2])
    inside_x = (xs[:, :, None] >= b[None, None, :, 0]) & (xs[:, :, None] <= b[None, None, :, 2])
    inside_y = (ys[:, :, None] >= b[None, None, :, 1]) & (ys[:, :, None] <= b[None, None, :, 3])
    covered = (inside_y[:, :, None, :] & inside_x[:, None, :, :]).any(axis=3)  # (N, G, G)
    return np.asarray(covered.mean(axis=(1, 2)), dtype=np.float64)
