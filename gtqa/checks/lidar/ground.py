"""A LiDAR cuboid floating above or sunk into the ground (the log's ground-height raster).

Gap = bottom of the cuboid (city z of its centre minus half its height) minus the ground height under
its centre. On the shared AV2 log the gap lies within +-0.05 m for 98% of the 11,068 cuboids the
raster covers, and within -0.09..+0.10 m for all of them.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, CheckParams, ramp
from gtqa.checks.lidar._lidar import lidar_labels
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement
from gtqa.domain.lidar import lidar_cuboids

CHECK_ID = "lidar_ground"


class Params(CheckParams):
    start: float = Field(default=0.25, ge=0, description="m above or below the ground: no evidence below")
    full: float = Field(default=1.0, gt=0, description="m above or below the ground: full evidence")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        labels = lidar_labels(scope, frame)
        cub = lidar_cuboids(labels)
        gap = cub.city[:, 2] - cub.dims[:, 2] / 2 - cub.ground_z
        raw = np.where(np.isfinite(gap), ramp(np.abs(np.nan_to_num(gap)), params.start, params.full), 0.0)
        for i in np.flatnonzero(raw > 0):
            where = "above" if gap[i] > 0 else "below"
            message = (
                f"bottom {abs(gap[i]):.2f} m {where} the ground ({'floating' if gap[i] > 0 else 'sunk'})"
            )
            out.append(
                CHECK.flag(
                    labels[i], float(raw[i]), message, params, features={"ground_gap_m": float(gap[i])}
                )
            )
    return out


CHECK = Check(
    id=CHECK_ID,
    fn=check,
    params=Params,
    issue_types=(IssueType.geometry_3d,),
    family=CheckFamily.lidar,
    description="a LiDAR cuboid floating above or sunk into the ground-height raster",
    requires=frozenset({Requirement.lidar, Requirement.ground}),
)
