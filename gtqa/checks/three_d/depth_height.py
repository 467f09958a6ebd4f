"""The 2D box is too tall or too short for the cuboid's height at its depth.

A cuboid at depth z of height h spans about focal x h / z pixels; more exactly, the vertical extent of its
corners is focal x (max - min of y / z over the 8 corners), which also counts the perspective of a near
object's top and bottom faces, and needs only the focal length (the frame's calibration, else
``scope.stats.focal_px`` from the dataset), not the full calibration. The evidence is |log(box height /
expected)| between ``start`` and ``full``.

Measured with this expected height: boxes not cut by the image agree to within 0.07 in log on all of
KITTI tracking 0016 and to within 0.024 on the 57 labels of kitti_object (14 of its frames have no
calibration and use the dataset's focal length). Boxes cut by the image's top or bottom edge, or
truncated, are up to 0.85 (tracking) and 1.56 (kitti_object) shorter in log, so a short box is not
judged when the label is truncated or touches the top or bottom edge (``truncated_factor``; the
projection check judges those exactly when there is a calibration), and counts less when it is
occluded (datasets that box only the visible part). No real label scores.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, CheckParams, ramp
from gtqa.checks.scope import ReviewScope
from gtqa.checks.three_d._cuboids import corners
from gtqa.domain import CheckFamily, Finding, Frame, IssueType, Label, Requirement


class Params(CheckParams):
    min_depth: float = Field(default=1.0, gt=0, description="metres; nearer corners: object skipped")
    start: float = Field(default=0.1, ge=0, description="|log(height / expected)| giving no evidence")
    full: float = Field(default=0.35, gt=0, description="... full evidence")
    border_px: float = Field(default=2.0, ge=0, description="a box this close to top/bottom is clipped")
    truncated_factor: float = Field(default=0.0, ge=0, le=1, description="x raw, short and truncated")
    occluded_factor: float = Field(default=0.5, ge=0, le=1, description="x raw, short and occluded")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        focal = frame.calib.focal_px if frame.calib is not None else scope.stats.focal_px
        labels = [lab for _, lab in scope.reviewed(frame) if _usable(lab)]
        if focal is None or not labels:
            continue
        pts = corners([lab.cuboid for lab in labels if lab.cuboid])
        depth = pts[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            v = pts[..., 1] / depth
        expected = focal * (v.max(axis=1) - v.min(axis=1))
        ok = (depth >= params.min_depth).all(axis=1) & (expected > 1.0)
        for k in np.flatnonzero(ok):
            finding = _judge(scope, frame, labels[k], float(expected[k]), focal, params)
            if finding is not None:
                out.append(finding)
    return out


def _usable(label: Label) -> bool:
    c = label.cuboid
    return c is not None and min(c.h, c.w, c.l) > 0 and label.box.height >= 1


def _judge(
    scope: ReviewScope, frame: Frame, label: Label, expected: float, focal: float, params: Params
) -> Finding | None:
    height = label.box.height
    ratio = float(np.log(height / expected))
    raw = ramp(abs(ratio), params.start, params.full)
    clipped = _clipped(scope, frame, label, params)
    if ratio < 0 and (clipped or (label.truncation or 0.0) > 0):
        raw *= params.truncated_factor
    elif ratio < 0 and (label.occlusion or 0) >= 1:
        raw *= params.occluded_factor
    if raw <= 0:
        return None
    c = label.cuboid
    assert c is not None
    return CHECK.flag(
        label,
        raw,
        f"box is {height:.0f} px tall but a {c.h:.2f} m tall {label.cls} at {c.z:.1f} m depth should be "
        f"about {expected:.0f} px (focal {focal:.0f} px): {np.exp(ratio):.2f}x",
        params,
        features={
            "log_ratio": ratio,
            "depth_m": c.z,
            "height_px": height,
            "clipped": float(clipped),
            "truncation": label.truncation if label.truncation is not None else -1.0,
            "occlusion": float(label.occlusion) if label.occlusion is not None else -1.0,
        },
    )


def _clipped(scope: ReviewScope, frame: Frame, label: Label, params: Params) -> bool:
    size = scope.image_size(frame)
    return label.box.y1 <= params.border_px or (
        size is not None and label.box.y2 >= size[1] - 1 - params.border_px
    )


CHECK = Check(
    id="depth_height",
    fn=check,
    params=Params,
    issue_types=(IssueType.geometry_3d,),
    family=CheckFamily.three_d,
    description="2D box height inconsistent with the cuboid's height and depth (focal x h / z)",
    requires=frozenset({Requirement.cuboids}),
    rule_ids=("dimensions-3d",),
)
