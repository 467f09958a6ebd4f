"""A box that reaches past the image: the spec's box "lies inside the image" (section of rule ``box-size``).

Image coordinates are 0-based pixels, so the last column is ``width - 1`` and a box touching the right
border has ``x2 = width - 1`` (KITTI writes 1223 on 1224-wide images). A box may overshoot each border by
``tolerance_px`` (sub-pixel edges, rounding); beyond that it is flagged, with a strength that grows with
the share of the box's area lying outside the image. Frames whose image size is unknown are skipped;
boxes with no area are left to ``degenerate_box``.
"""

from __future__ import annotations

import numpy as np

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, Frame, IssueType, Requirement
from gtqa.domain.geometry import FloatArray

_SIDES = ("left", "top", "right", "bottom")


class Params(CheckParams):
    tolerance_px: float = 2.0  # overshoot past a border that is not reported (pixels)
    full_outside_share: float = 0.5  # share of the box area outside the image that scores 1.0


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        size = scope.image_size(frame)
        reviewed = scope.reviewed(frame)
        if size is None or not reviewed:
            continue
        out.extend(_frame_findings(frame, [i for i, _ in reviewed], size, params))
    return out


def _frame_findings(frame: Frame, idx: list[int], size: tuple[int, int], params: Params) -> list[Finding]:
    boxes = frame.label_boxes()[idx]
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    over = _overshoot(boxes, size)  # (N, 4) pixels past left, top, right, bottom
    share = _outside_share(boxes, size)
    hit = (w > 0) & (h > 0) & (over.max(axis=1) > params.tolerance_px)
    raw = np.clip(share / max(params.full_outside_share, 1e-6), 0.0, 1.0)
    out = []
    for k in np.flatnonzero(hit):
        label = frame.labels[idx[k]]
        side = int(np.argmax(over[k]))
        out.append(
            CHECK.flag(
                label,
                float(raw[k]),
                f"box reaches {over[k, side]:.0f} px past the {_SIDES[side]} edge of the "
                f"{size[0]}x{size[1]} image ({share[k]:.0%} of its area outside)",
                params,
                features={
                    "outside_share": float(share[k]),
                    "overshoot_px": float(over[k, side]),
                    "width": float(w[k]),
                    "height": float(h[k]),
                    "image_width": float(size[0]),
                    "image_height": float(size[1]),
                },
            )
        )
    return out


def _overshoot(boxes: FloatArray, size: tuple[int, int]) -> FloatArray:
    right, bottom = size[0] - 1.0, size[1] - 1.0
    return np.stack([-boxes[:, 0], -boxes[:, 1], boxes[:, 2] - right, boxes[:, 3] - bottom], axis=1).clip(
        min=0.0
    )


def _outside_share(boxes: FloatArray, size: tuple[int, int]) -> FloatArray:
    """Share of each box's area outside ``[0, width-1] x [0, height-1]`` (0 for boxes with no area)."""
    cx = np.clip(boxes[:, [0, 2]], 0.0, size[0] - 1.0)
    cy = np.clip(boxes[:, [1, 3]], 0.0, size[1] - 1.0)
    inside = (cx[:, 1] - cx[:, 0]).clip(min=0) * (cy[:, 1] - cy[:, 0]).clip(min=0)
    area = (boxes[:, 2] - boxes[:, 0]).clip(min=0) * (boxes[:, 3] - boxes[:, 1]).clip(min=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(area > 0, 1.0 - inside / area, 0.0)


CHECK = Check(
    id="out_of_image",
    fn=check,
    params=Params,
    issue_types=(IssueType.bad_box,),
    family=CheckFamily.geometry,
    requires=frozenset({Requirement.image_boxes}),
    description="boxes reaching past the image border (needs the image size)",
    rule_ids=("box-size",),
)
