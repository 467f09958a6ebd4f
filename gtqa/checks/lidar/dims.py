"""Dimensions of a LiDAR cuboid that differ from the rest of its track (one object keeps one size).

On the shared AV2 log every one of the 114 tracks keeps length, width and height exactly constant
(|log(size / track median)| = 0.000 for every class, pedestrians included), so a cuboid resized in one
sweep stands out. Shape-changing classes (people, riders) get ``non_rigid_factor`` x the tolerance.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, CheckParams, ramp
from gtqa.checks.lidar._lidar import NON_RIGID_CLASSES, windowed_median, world_tracks
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement

CHECK_ID = "lidar_dims_track"


class Params(CheckParams):
    start: float = Field(default=0.03, ge=0, description="|log(size / track median)|: no evidence below")
    full: float = Field(default=0.25, gt=0, description="|log(size / track median)|: full evidence")
    non_rigid_factor: float = Field(default=2.0, gt=0, description="x both for people and riders")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for track in world_tracks(scope):
        if len(track.index) < 3:
            continue
        logs = np.log(track.cub.dims)
        dev = np.abs(logs - windowed_median(logs, track.near())).max(axis=1)
        factor = params.non_rigid_factor if track.cls in NON_RIGID_CLASSES else 1.0
        raw = ramp(dev, params.start * factor, params.full * factor)
        for i in np.flatnonzero((raw > 0) & track.in_scope):
            l, w, h = track.cub.dims[i]  # noqa: E741
            message = f"size {l:.2f} x {w:.2f} x {h:.2f} m differs from its track's by {np.expm1(dev[i]):.0%}"
            features = {"dims_log_dev": float(dev[i])}
            out.append(CHECK.flag(track.cub.labels[i], float(raw[i]), message, params, features=features))
    return out


CHECK = Check(
    id=CHECK_ID,
    fn=check,
    params=Params,
    issue_types=(IssueType.geometry_3d,),
    family=CheckFamily.lidar,
    description="a LiDAR cuboid whose size differs from the rest of its track",
    requires=frozenset({Requirement.lidar, Requirement.tracks, Requirement.sequences}),
)
