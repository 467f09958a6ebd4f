"""Two LiDAR cuboids of one sweep on one object (a duplicate in 3D).

Per sweep, pairwise: the centres' distance over half the smaller footprint side of the two. Real
neighbours stand apart (two pedestrians side by side are about one body width apart, ratio >= 1.5);
a copy of a cuboid sits on its original. The label of the shorter track is the likelier copy and gets
the full score, its partner half of it.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, CheckParams, ramp
from gtqa.checks.lidar._lidar import lidar_labels
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Label, Requirement
from gtqa.domain.lidar import lidar_cuboids

CHECK_ID = "lidar_duplicate"


class Params(CheckParams):
    start: float = Field(default=1.0, gt=0, description="distance / half side: no evidence above")
    full: float = Field(default=0.4, ge=0, description="distance / half side: full evidence at or below")
    partner_factor: float = Field(default=0.5, ge=0, le=1, description="x raw for the longer track's label")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    lengths = Counter(lab.track_id for f in (*scope.context, *scope.frames) for lab in f.labels)
    out: list[Finding] = []
    for frame in scope.frames:
        labels = lidar_labels(scope, frame)
        if len(labels) < 2:
            continue
        cub = lidar_cuboids(labels)
        dist = np.linalg.norm(cub.centre[:, None, :] - cub.centre[None, :, :], axis=2)
        side = np.minimum(cub.dims[:, None, :2].min(axis=2), cub.dims[None, :, :2].min(axis=2)) / 2
        ratio = dist / np.maximum(side, 1e-3)
        raw = ramp(params.start - ratio, 0.0, params.start - params.full)
        for i, j in zip(*np.nonzero(np.triu(raw > 0, k=1)), strict=True):
            out.extend(_pair(labels[i], labels[j], float(raw[i, j]), float(ratio[i, j]), lengths, params))
    return out


def _pair(
    a: Label, b: Label, raw: float, ratio: float, lengths: Counter[int | None], params: Params
) -> list[Finding]:
    copy, original = (b, a) if lengths[b.track_id] <= lengths[a.track_id] else (a, b)
    feats = {"centre_ratio": ratio}
    return [
        CHECK.flag(copy, raw, f"on the same object as {original.id}", params, features=feats),
        CHECK.flag(
            original, raw * params.partner_factor, f"on the same object as {copy.id}", params, features=feats
        ),
    ]


CHECK = Check(
    id=CHECK_ID,
    fn=check,
    params=Params,
    issue_types=(IssueType.duplicate,),
    family=CheckFamily.lidar,
    description="two LiDAR cuboids of one sweep on one object",
    requires=frozenset({Requirement.lidar}),
)
