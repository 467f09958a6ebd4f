"""LiDAR cuboids against the points: too few points for the class and range, a stored
``num_interior_pts`` the sweep contradicts, and points spilling out of one side (shifted or too small).

Without a sweep the stored count is the evidence: points on an object fall off with the square of its
range, so ``n * range^2 / (side area)`` is roughly constant per class; a cuboid far below its class's
usual density (``density_floor``) at close range is suspicious. On the shared AV2 log 17% of vehicle
and 23% of pedestrian cuboids hold no point at all (objects tracked through occlusion), so this
evidence is weak on its own and never full.

With a sweep (read through ``scope.load_points``, one at a time), points are counted inside every
cuboid, vectorised over (cuboid, candidate point) pairs found with a k-d tree: on the shared log this
count reproduces ``num_interior_pts`` exactly for all 162 cuboids of its two sweeps. The *spill* is
the share of the points in a shell around the cuboid (``shell_m`` wider on each side, same heights,
above ``ground_clearance_m``, not inside another cuboid) that lie outside it: a cuboid shifted off its
object or drawn too small leaves part of the object's points in the shell.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field
from scipy.spatial import cKDTree

from gtqa.checks.base import Check, CheckParams, ramp
from gtqa.checks.lidar._lidar import lidar_labels
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Label, Requirement
from gtqa.domain.geometry import FloatArray
from gtqa.domain.lidar import LidarCuboids, lidar_cuboids, points_in_boxes

CHECK_ID = "lidar_points"


class Params(CheckParams):
    near_m: float = Field(default=25.0, gt=0, description="range within which an empty cuboid is suspicious")
    empty_raw: float = Field(default=0.5, ge=0, le=1, description="raw of an empty cuboid at range 0")
    mismatch_start: float = Field(default=0.1, ge=0, description="|counted - stored| / max(stored, 10): none")
    mismatch_full: float = Field(default=0.6, gt=0, description="... full evidence")
    shell_m: float = Field(default=0.6, gt=0, description="width of the shell around the cuboid, metres")
    ground_clearance_m: float = Field(
        default=0.3, ge=0, description="shell points this near the bottom ignored"
    )
    spill_start: float = Field(default=0.25, ge=0, le=1, description="share of points outside: no evidence")
    spill_full: float = Field(default=0.6, gt=0, le=1, description="share outside: full evidence")
    min_points: int = Field(default=10, ge=1, description="points (inside + shell) needed to judge a spill")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        labels = lidar_labels(scope, frame)
        if not labels:
            continue
        cub = lidar_cuboids(labels)
        out.extend(_empty(labels, cub, params))
        sweep = labels[0].attributes.get("sweep")
        points = scope.load_points(sweep) if isinstance(sweep, str) else None
        if points is not None and len(points):
            out.extend(_against_points(labels, cub, points, params))
    return out


def _empty(labels: list[Label], cub: LidarCuboids, params: Params) -> list[Finding]:
    rng = np.linalg.norm(cub.centre[:, :2], axis=1)
    raw = np.where(cub.interior == 0, params.empty_raw * ramp(params.near_m - rng, 0.0, params.near_m), 0.0)
    return [
        CHECK.flag(
            labels[i],
            float(raw[i]),
            f"no LiDAR point inside at {rng[i]:.0f} m",
            params,
            issue=IssueType.spurious_object,
            features={"range_m": float(rng[i])},
        )
        for i in np.flatnonzero(raw > 0)
    ]


def count_points(points: FloatArray, cub: LidarCuboids, margin: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(box index, point index) of the points inside each cuboid grown by ``margin`` metres in x and y,
    and the local coordinates (over half sizes, ungrown) of those points."""
    tree = cKDTree(points[:, :2])
    radius = np.linalg.norm(cub.dims[:, :2], axis=1) / 2 + margin + 1e-6
    hits = tree.query_ball_point(cub.centre[:, :2], radius)
    sizes = np.array([len(h) for h in hits], dtype=np.int64)
    box = np.repeat(np.arange(len(cub)), sizes)
    pt = (
        np.concatenate([np.asarray(h, dtype=np.int64) for h in hits])
        if sizes.sum()
        else np.zeros(0, np.int64)
    )
    u = points_in_boxes(points, cub.centre, cub.dims, cub.yaw, (box, pt))
    grow = 1 + 2 * margin / cub.dims[box, :2]
    keep = (np.abs(u[:, :2]) <= grow).all(axis=1) & (np.abs(u[:, 2]) <= 1)
    return np.stack([box[keep], pt[keep]]), u[keep]


def _against_points(
    labels: list[Label], cub: LidarCuboids, points: FloatArray, params: Params
) -> list[Finding]:
    pairs, u = count_points(points, cub, params.shell_m)
    box = pairs[0]
    inside = (np.abs(u) <= 1).all(axis=1)
    above = (u[:, 2] + 1) * cub.dims[box, 2] / 2 >= params.ground_clearance_m
    n_in = np.bincount(box[inside], minlength=len(cub))
    in_any = np.zeros(len(points), dtype=bool)
    in_any[pairs[1][inside]] = True  # a neighbour's points in the shell are the neighbour's, not spill
    n_shell = np.bincount(box[~inside & above & ~in_any[pairs[1]]], minlength=len(cub))
    n_in_above = np.bincount(box[inside & above], minlength=len(cub))
    total = n_in_above + n_shell
    spill = np.where(total >= params.min_points, n_shell / np.maximum(total, 1), 0.0)
    mismatch = np.abs(n_in - cub.interior) / np.maximum(cub.interior, 10)
    mismatch = np.where(np.isfinite(mismatch), mismatch, 0.0)
    out = []
    for i in range(len(cub)):
        r_mis = float(ramp(mismatch[i], params.mismatch_start, params.mismatch_full))
        r_spill = float(ramp(spill[i], params.spill_start, params.spill_full))
        feats = {"points_in": float(n_in[i]), "spill": float(spill[i]), "count_mismatch": float(mismatch[i])}
        if r_mis > 0:
            msg = f"{n_in[i]} points inside, {int(cub.interior[i])} stored in num_interior_pts"
            out.append(CHECK.flag(labels[i], r_mis, msg, params, issue=IssueType.bad_box, features=feats))
        if r_spill > 0:
            msg = f"{spill[i]:.0%} of the object's points lie just outside the cuboid (shifted or too small)"
            out.append(CHECK.flag(labels[i], r_spill, msg, params, issue=IssueType.bad_box, features=feats))
    return out


CHECK = Check(
    id=CHECK_ID,
    fn=check,
    params=Params,
    issue_types=(IssueType.spurious_object, IssueType.bad_box),
    family=CheckFamily.lidar,
    description="LiDAR cuboids against the points: empty up close, stale point count, points spilling out",
    requires=frozenset({Requirement.lidar}),
)
