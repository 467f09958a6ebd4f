"""Two labels on one object: high IoU between labels of a frame, weighed by 3D evidence when it exists.

Image overlap alone cannot tell a duplicate from two people one behind the other (KITTI crowds hold
same-class pedestrian pairs with IoU 0.85 at different depths). So:

* without 3D boxes, the evidence grows with the IoU, from 0.5 at ``min_iou`` to 1 at ``full_iou``;
* when both labels have a cuboid, the distance between the two cuboid centres decides, measured in
  object widths (the mean cuboid ``w`` of the pair: about 0.75 m for a pedestrian, 1.6 m for a car).
  Two distinct objects cannot stand much closer than one width apart (their bodies would meet), while
  a duplicate's cuboid is a copy or a re-estimate of the same one. Under ``same_object_widths`` the pair
  is one object (0.75 to 1 with the IoU), over ``distinct_objects_widths`` it is two (no flag), linearly
  in between. Measured on KITTI tracking 0016: the 375 real pairs with IoU >= 0.5 (two tracked people,
  one behind the other) are all at least 0.63 m, 0.74 widths, apart (5% under 0.85 widths);
* the same track id twice in one frame is certain (raw 1): a duplicate when the boxes overlap by
  ``min_iou``, otherwise a track-id defect (one of the two carries the wrong id).

A pair of different classes scores ``cross_class_factor`` times as much (a Car and a Van on one object are
also a duplicate). The later label of a pair (by position in the file) is flagged, with its strongest
partner, so one duplicate gives one flag.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Label, Requirement
from gtqa.domain.boxes import iou_matrix
from gtqa.domain.geometry import FloatArray

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


class Params(CheckParams):
    min_iou: float = 0.5  # below this, two boxes are two objects (crowds overlap up to ~0.5)
    full_iou: float = 0.85  # at or above this the image evidence is full strength
    same_class_only: bool = False  # False: a Car and a Van on one object are also a duplicate
    cross_class_factor: float = 0.8  # evidence multiplier for a pair of different classes
    same_object_widths: float = 0.5  # cuboid centres closer than this many object widths: one object
    distinct_objects_widths: float = 1.0  # farther apart than this many widths: two objects


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        labels = [lab for _, lab in scope.reviewed(frame)]
        if len(labels) >= 2:
            out.extend(_frame_findings(labels, params))
    return out


def _frame_findings(labels: list[Label], params: Params) -> list[Finding]:
    boxes = np.array([lab.box.as_list() for lab in labels], dtype=np.float64)
    iou = iou_matrix(boxes, boxes)
    dist = _centre_distances(labels)
    widths = _pair_widths(labels)
    same_track = _same_track(labels)
    raw = np.triu(_pair_evidence(labels, iou, dist / widths, same_track, params), k=1)  # (earlier, later)
    out = []
    for j in np.flatnonzero(raw.max(axis=0) > 0):
        i = int(raw[:, j].argmax())
        pair = (float(iou[i, j]), float(dist[i, j]), float(widths[i, j]))
        out.append(_finding(labels[j], labels[i], float(raw[i, j]), pair, params))
    return out


def _pair_evidence(
    labels: list[Label], iou: FloatArray, apart: FloatArray, same_track: BoolArray, params: Params
) -> FloatArray:
    """(N, N) evidence that labels i and j are one object; ``apart`` is the centre distance in object
    widths (NaN without two cuboids)."""
    ramp = np.clip((iou - params.min_iou) / max(params.full_iou - params.min_iou, 1e-6), 0.0, 1.0)
    span = max(params.distinct_objects_widths - params.same_object_widths, 1e-6)
    near_3d = np.clip((params.distinct_objects_widths - apart) / span, 0.0, 1.0)
    has_3d = ~np.isnan(apart)
    evidence = np.where(has_3d, near_3d * (0.75 + 0.25 * ramp), 0.5 + 0.5 * ramp)
    evidence = np.where(iou >= params.min_iou, evidence, 0.0)
    classes = np.array([lab.cls for lab in labels])
    same_class = classes[:, None] == classes[None, :]
    cross = 0.0 if params.same_class_only else params.cross_class_factor
    evidence = evidence * np.where(same_class, 1.0, cross)
    return np.asarray(np.where(same_track, 1.0, evidence), dtype=np.float64)


def _centre_distances(labels: list[Label]) -> FloatArray:
    """Pairwise distances (metres) between cuboid centres; NaN where either label has no cuboid."""
    centres = np.array(
        [
            (c.x, c.y - c.h / 2, c.z) if (c := lab.cuboid) is not None else (np.nan, np.nan, np.nan)
            for lab in labels
        ],
        dtype=np.float64,
    )  # camera frame, y down: the centre is half a height above the bottom face
    return np.asarray(np.linalg.norm(centres[:, None, :] - centres[None, :, :], axis=2), dtype=np.float64)


def _pair_widths(labels: list[Label]) -> FloatArray:
    """Mean cuboid width (metres) of each pair, floored at 0.1 m; NaN where either has no cuboid."""
    w = np.array([lab.cuboid.w if lab.cuboid else np.nan for lab in labels], dtype=np.float64)
    return np.asarray(np.maximum((w[:, None] + w[None, :]) / 2, 0.1), dtype=np.float64)


def _same_track(labels: list[Label]) -> BoolArray:
    tracks = np.array([-1 if lab.track_id is None else lab.track_id for lab in labels])
    return np.asarray((tracks[:, None] == tracks[None, :]) & (tracks[:, None] >= 0), dtype=np.bool_)


def _finding(
    label: Label, other: Label, raw: float, pair: tuple[float, float, float], params: Params
) -> Finding:
    iou, dist, width = pair
    same_track = label.track_id is not None and label.track_id == other.track_id
    issue = IssueType.track_id if same_track and iou < params.min_iou else IssueType.duplicate
    message = f"overlaps {other.id} ({other.cls}) with IoU {iou:.2f}"
    if not np.isnan(dist):
        message += f", 3D centres {dist:.2f} m ({dist / width:.2f} object widths) apart"
    if same_track:
        message = f"track id {label.track_id} appears twice in this frame ({other.id} too); " + message
    features = {"iou": iou, "same_class": float(label.cls == other.cls), "same_track": float(same_track)}
    if not np.isnan(dist):
        features["centre_distance_m"] = dist
        features["centre_distance_widths"] = dist / width
    return CHECK.flag(label, raw, message, params, issue=issue, features=features)


CHECK = Check(
    id="duplicate",
    fn=check,
    params=Params,
    issue_types=(IssueType.duplicate, IssueType.track_id),
    family=CheckFamily.geometry,
    requires=frozenset({Requirement.image_boxes}),
    description="two labels on one object (IoU above a threshold, unless their 3D boxes are apart), "
    "or one track id twice in a frame",
)
