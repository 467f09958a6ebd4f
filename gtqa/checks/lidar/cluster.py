"""Points of an object nobody labelled: an object-sized cluster of LiDAR points outside every cuboid.

Per swept sweep (vectorised over its points): the ground is estimated as the lowest point of each
``ground_cell_m`` cell of the bird's-eye grid; points between ``min_height_m`` and ``max_height_m``
above it, within ``max_range_m`` and outside every cuboid grown by ``margin_m`` are binned into
``cell_m`` cells, and 8-connected occupied cells form clusters (scipy's ``ndimage.label``). A cluster
the size of a car or a person (footprint within ``min_extent_m``..``max_extent_m``, at least
``min_points`` points) is proposed as a missing object. Walls, hedges and poles make such clusters
too, and AV2 labels no static structure, so the evidence is weak: it grows with the cluster's points
and is full only for a dense, compact, car-sized cluster near the road (close range).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field
from scipy import ndimage

from gtqa.checks.base import Check, CheckParams, missing_finding, ramp
from gtqa.checks.lidar._lidar import lidar_labels
from gtqa.checks.lidar.points import count_points
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Label, Requirement
from gtqa.domain.geometry import FloatArray
from gtqa.domain.lidar import lidar_cuboids

CHECK_ID = "lidar_unlabelled_cluster"


class Params(CheckParams):
    max_range_m: float = Field(default=30.0, gt=0, description="clusters judged within this range")
    ground_cell_m: float = Field(default=4.0, gt=0, description="cell of the lowest-point ground estimate")
    min_height_m: float = Field(default=0.3, ge=0, description="points this far above the ground count")
    max_height_m: float = Field(default=2.5, gt=0, description="... up to this height (no roofs, trees)")
    cell_m: float = Field(default=0.3, gt=0, description="occupancy cell of the clustering")
    margin_m: float = Field(default=0.3, ge=0, description="cuboids grown by this before removing points")
    min_extent_m: float = Field(default=0.4, gt=0, description="smallest footprint side of an object")
    max_extent_m: float = Field(default=6.0, gt=0, description="largest footprint side of an object")
    min_points: int = Field(default=30, ge=1, description="points a cluster needs to be proposed")
    full_points: int = Field(default=300, ge=1, description="points of a cluster at full evidence")
    max_raw: float = Field(default=0.6, ge=0, le=1, description="the most this check ever claims")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        labels = lidar_labels(scope, frame)
        sweep = next((lab.attributes["sweep"] for lab in labels if "sweep" in lab.attributes), None)
        points = scope.load_points(sweep) if isinstance(sweep, str) else None
        if points is None or not len(points):
            continue
        free = _free_points(points, labels, params)
        for box, n in _clusters(free, params):
            raw = params.max_raw * float(ramp(n, params.min_points, params.full_points))
            message = f"{n} LiDAR points of an object-sized cluster outside every cuboid (unlabelled object?)"
            out.append(missing_finding(frame.id, box, raw, CHECK_ID, message, params, features={"points": n}))
    return out


def _free_points(points: FloatArray, labels: list[Label], params: Params) -> FloatArray:
    near = points[np.hypot(points[:, 0], points[:, 1]) <= params.max_range_m]
    cell = np.floor(near[:, :2] / params.ground_cell_m).astype(np.int64)
    _, inverse = np.unique(cell, axis=0, return_inverse=True)
    ground = np.full(inverse.max() + 1 if len(inverse) else 0, np.inf)
    np.minimum.at(ground, inverse, near[:, 2])
    height = near[:, 2] - ground[inverse]
    body = near[(height >= params.min_height_m) & (height <= params.max_height_m)]
    if labels and len(body):
        pairs, _ = count_points(body, lidar_cuboids(labels), params.margin_m)
        taken = np.zeros(len(body), dtype=bool)
        taken[pairs[1]] = True
        body = body[~taken]
    return body


def _clusters(points: FloatArray, params: Params) -> list[tuple[tuple[float, float, float, float], int]]:
    if len(points) < params.min_points:
        return []
    ij = np.floor(points[:, :2] / params.cell_m).astype(np.int64)
    lo = ij.min(axis=0)
    ij -= lo
    grid = np.zeros(ij.max(axis=0) + 1, dtype=np.int32)
    np.add.at(grid, (ij[:, 0], ij[:, 1]), 1)
    labelled, n = ndimage.label(grid > 0, structure=np.ones((3, 3)))
    comp = labelled[ij[:, 0], ij[:, 1]]
    counts = np.bincount(comp, minlength=n + 1)
    out = []
    for c in np.flatnonzero(counts[1:] >= params.min_points) + 1:  # per cluster, not per point
        xy = points[comp == c, :2]
        x1, y1 = xy.min(axis=0)
        x2, y2 = xy.max(axis=0) + params.cell_m
        sides = sorted((x2 - x1, y2 - y1))
        if sides[0] >= params.min_extent_m and sides[1] <= params.max_extent_m:
            out.append(((float(x1), float(y1), float(x2), float(y2)), int(counts[c])))
    return out


CHECK = Check(
    id=CHECK_ID,
    fn=check,
    params=Params,
    issue_types=(IssueType.missing_object,),
    family=CheckFamily.lidar,
    description="an object-sized cluster of LiDAR points outside every cuboid (a missing object)",
    requires=frozenset({Requirement.lidar_points}),
)
