"""The 3D box, projected through the calibration, does not match the 2D box.

The 8 corners of the cuboid are projected with the frame's P2; the bounding box of the silhouette's part
inside the image is compared with the 2D box, edge by edge, in units of the 2D box's height. Objects with
a corner less than ``min_depth`` in front of the camera are skipped.

Measured on real labels (the thresholds come from these):

* KITTI tracking 0016 (3,135 labels, 209 frames): the top and bottom edges agree to within 1.3 % of the
  box height on every label, truncated ones included once the silhouette is clipped to the image. The
  horizontal edges do not: a pedestrian's 3D box is wider than the person seen (arms and stride), and a
  partly hidden object's 2D box covers its visible part only, so the projection is up to 50 % of the box
  height wider; the 2D box sticks out of the projection by at most 13 %. IoU runs from 0.33 (pedestrians)
  to 0.99 (cars), median 0.73.
* KITTI object frames 000000-000002 (6 labels, hand-drawn 2D boxes): edges within 3 %, IoU 0.89-0.98.

So the evidence is mainly a top or bottom edge off by more than ``vertical_start`` of the box height,
then a 2D box sticking out of the projection sideways, then a very low IoU. A largely occluded label
(occlusion 2) counts less: datasets whose 2D boxes cover the visible part only cut those vertically too.
The image is taken to reach at least as far as the label's box (KITTI object images were cropped).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, CheckParams, ramp
from gtqa.checks.scope import ReviewScope
from gtqa.checks.three_d._cuboids import corners, project, visible_boxes
from gtqa.domain import CheckFamily, Finding, Frame, IssueType, Label, Requirement
from gtqa.domain.boxes import iou_matrix
from gtqa.domain.geometry import FloatArray


class Params(CheckParams):
    min_depth: float = Field(default=0.5, gt=0, description="metres; nearer corners: object skipped")
    slack_px: float = Field(default=1.0, ge=0, description="edge offset ignored, pixels (rounding)")
    vertical_start: float = Field(default=0.025, ge=0, description="top/bottom offset / height, none")
    vertical_full: float = Field(default=0.1, gt=0, description="... full evidence")
    side_start: float = Field(default=0.18, ge=0, description="box sticking out sideways / height, none")
    side_full: float = Field(default=0.5, gt=0, description="... full evidence")
    iou_start: float = Field(default=0.25, ge=0, le=1, description="IoU below this starts evidence")
    iou_full: float = Field(default=0.05, ge=0, le=1, description="IoU at which evidence is full")
    occluded_factor: float = Field(default=0.7, ge=0, le=1, description="x raw for occlusion 2")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        if frame.calib is None:
            continue
        labels = [lab for _, lab in scope.reviewed(frame) if _usable(lab)]
        if labels:
            out.extend(_judge_frame(scope, frame, labels, params))
    return out


def _usable(label: Label) -> bool:
    c = label.cuboid
    return c is not None and min(c.h, c.w, c.l) > 0 and label.box.height >= 1 and label.box.width >= 1


def _judge_frame(scope: ReviewScope, frame: Frame, labels: list[Label], params: Params) -> list[Finding]:
    assert frame.calib is not None
    uv, depth = project(corners([lab.cuboid for lab in labels if lab.cuboid]), frame.calib.projection())
    boxes = np.array([lab.box.as_list() for lab in labels])
    front = np.asarray((depth >= params.min_depth).all(axis=1), dtype=bool)
    proj, seen = visible_boxes(np.where(front[:, None, None], uv, 0.0), _rects(scope, frame, boxes))
    out = []
    for k in np.flatnonzero(front & seen):
        finding = _judge(labels[k], boxes[k], proj[k], params)
        if finding is not None:
            out.append(finding)
    return out


def _rects(scope: ReviewScope, frame: Frame, boxes: FloatArray) -> FloatArray:
    """Per label, the image rectangle in pixels (KITTI boxes end at width-1, height-1), grown to hold
    the label's own box when that reaches further (a cropped image, or unknown size)."""
    size = scope.image_size(frame)
    w, h = (size[0] - 1.0, size[1] - 1.0) if size else (np.inf, np.inf)
    rects = np.empty_like(boxes)
    rects[:, 0] = np.minimum(0.0, boxes[:, 0])
    rects[:, 1] = np.minimum(0.0, boxes[:, 1])
    rects[:, 2] = np.maximum(w, boxes[:, 2])
    rects[:, 3] = np.maximum(h, boxes[:, 3])
    return rects


def _judge(label: Label, box: FloatArray, proj: FloatArray, params: Params) -> Finding | None:
    height = box[3] - box[1]
    off = proj - box  # per edge, pixels: positive = projection further right / down
    err = np.maximum(np.abs(off) - params.slack_px, 0.0) / height
    vertical = float(max(err[1], err[3]))
    side = float(max(off[0], -off[2], 0.0) - params.slack_px) / height  # 2D box outside the projection
    iou = float(iou_matrix(box[None, :], proj[None, :])[0, 0])
    parts = {
        "vertical": ramp(vertical, params.vertical_start, params.vertical_full),
        "side": ramp(side, params.side_start, params.side_full),
        "iou": 1.0 - ramp(iou, params.iou_full, params.iou_start),
    }
    raw = max(parts.values()) * (params.occluded_factor if label.occlusion == 2 else 1.0)
    if raw <= 0:
        return None
    return CHECK.flag(
        label,
        raw,
        _message(off, height, iou, max(parts, key=lambda k: parts[k]), proj),
        params,
        features={
            "iou": iou,
            "vertical_offset": vertical,
            "side_offset": max(side, 0.0),
            **{f"offset_{e}": float(o / height) for e, o in zip(("x1", "y1", "x2", "y2"), off, strict=True)},
            "height_px": float(height),
            "occlusion": float(label.occlusion) if label.occlusion is not None else -1.0,
        },
    )


def _message(off: FloatArray, height: float, iou: float, worst: str, proj: FloatArray) -> str:
    shown = "[" + ", ".join(f"{v:.0f}" for v in proj) + "]"
    if worst == "vertical":
        edge, o = ("top", off[1]) if abs(off[1]) >= abs(off[3]) else ("bottom", off[3])
        what = (
            f"its {edge} edge is {abs(o):.0f} px ({abs(o) / height:.0%} of the box height) "
            + ("above" if o < 0 else "below")
            + " the 2D box's"
        )
    elif worst == "side":
        what = "the 2D box sticks out of it sideways by " + f"{max(off[0], -off[2]):.0f} px"
    else:
        what = "they barely overlap"
    return f"the projected 3D box {shown} does not match the 2D box: {what} (IoU {iou:.2f})"


CHECK = Check(
    id="projection",
    fn=check,
    params=Params,
    issue_types=(IssueType.geometry_3d,),
    family=CheckFamily.three_d,
    description="the cuboid projected through the calibration does not match the 2D box",
    requires=frozenset({Requirement.cuboids, Requirement.calib}),
    rule_ids=("dimensions-3d",),
)
