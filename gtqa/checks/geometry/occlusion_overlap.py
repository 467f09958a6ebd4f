"""Occlusion level that disagrees with what the other labels cover (rule ``occlusion``).

A label's *visible share* is 1 minus the share of its box covered by the union of the boxes of NEARER
reviewed labels, each narrowed to the central ``occluder_width`` of its width. Nearer means a smaller
depth (cuboid ``z``, metres) when both labels have a 3D box, otherwise a lower bottom edge in the image
(larger ``y2``: on a flat road the nearer object stands lower).
The visible share is compared with the spec's range for the label's occlusion level:

* below the range ("marked visible but covered by a nearer label") is strong evidence, growing with the
  deficit up to ``full_deficit``;
* above the range ("marked occluded but nothing labelled in front") is weak, capped at
  ``unexplained_raw``: the occluder may be a wall, a tree or an unlabelled object.

Boxes are rectangles, so they overstate how much of a thin object (a pedestrian) another one hides. Labels
whose occlusion is unknown (None, or a level the spec does not list) are not judged, but still occlude.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Label, Requirement
from gtqa.domain.geometry import FloatArray
from gtqa.spec import CompiledSpec

_NAMES = {0: "fully visible", 1: "partly occluded", 2: "largely occluded"}
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


class Params(CheckParams):
    visible: dict[int, tuple[float, float]] = Field(
        default_factory=lambda: {0: (0.75, 1.0), 1: (0.25, 0.95), 2: (0.0, 0.7)}
    )  # occlusion level -> (min, max) visible share of the box
    tolerance: float = 0.05  # deviations from the range smaller than this are not reported
    full_deficit: float = 0.5  # visible share below the level's minimum that scores 1.0
    full_excess: float = 0.3  # visible share above the level's maximum that scores unexplained_raw
    unexplained_raw: float = 0.3  # cap of "marked occluded but nothing labelled in front"
    # Share of an occluder's box width treated as opaque (centred): a cyclist's or a pedestrian's box
    # is largely background at its sides (0016/000002: a pedestrian wholly visible inside a cyclist's box).
    occluder_width: float = 0.6
    grid: int = 16  # samples per box side when measuring the covered share


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        labels = [lab for _, lab in scope.reviewed(frame)]
        if not any(lab.occlusion in params.visible for lab in labels):
            continue
        visible, nearer = visible_share(labels, params.grid, params.occluder_width)
        for k, label in enumerate(labels):
            finding = _judge(label, float(visible[k]), int(nearer[k].sum()), params)
            if finding is not None:
                out.append(finding)
    return out


def visible_share(
    labels: list[Label], grid: int = 16, occluder_width: float = 1.0
) -> tuple[FloatArray, BoolArray]:
    """Each label's box share not covered by nearer labels' boxes (each narrowed to the central
    ``occluder_width`` of its width), and the (N, N) "j is nearer than i" matrix."""
    boxes = np.array([lab.box.as_list() for lab in labels], dtype=np.float64)
    nearer = _nearer(labels, boxes)
    occ = _narrowed(boxes, occluder_width)
    t = (np.arange(grid) + 0.5) / grid
    xs = boxes[:, 0:1] + t[None, :] * (boxes[:, 2:3] - boxes[:, 0:1])  # (N, G)
    ys = boxes[:, 1:2] + t[None, :] * (boxes[:, 3:4] - boxes[:, 1:2])
    in_x = (xs[:, :, None] >= occ[None, None, :, 0]) & (xs[:, :, None] <= occ[None, None, :, 2])
    in_y = (ys[:, :, None] >= occ[None, None, :, 1]) & (ys[:, :, None] <= occ[None, None, :, 3])
    in_x &= nearer[:, None, :]  # only nearer labels occlude label i
    covered = (in_y[:, :, None, :] & in_x[:, None, :, :]).any(axis=3)  # (N, G, G)
    return np.asarray(1.0 - covered.mean(axis=(1, 2)), dtype=np.float64), nearer


def _narrowed(boxes: FloatArray, share: float) -> FloatArray:
    """Boxes keeping the central ``share`` of their width (heights unchanged)."""
    cx, half = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 2] - boxes[:, 0]) * share / 2
    return np.stack([cx - half, boxes[:, 1], cx + half, boxes[:, 3]], axis=1)


def _nearer(labels: list[Label], boxes: FloatArray) -> BoolArray:
    """``nearer[i, j]``: label j is in front of label i (depth when both have cuboids, else image y2)."""
    depth = np.array([lab.cuboid.z if lab.cuboid else np.nan for lab in labels], dtype=np.float64)
    both_3d = ~np.isnan(depth)[:, None] & ~np.isnan(depth)[None, :]
    by_depth = depth[None, :] < depth[:, None]
    by_image = boxes[None, :, 3] > boxes[:, None, 3]
    nearer = np.where(both_3d, by_depth, by_image)
    np.fill_diagonal(nearer, False)
    return np.asarray(nearer, dtype=np.bool_)


def _judge(label: Label, visible: float, n_nearer: int, params: Params) -> Finding | None:
    if label.occlusion not in params.visible:
        return None
    lo, hi = params.visible[label.occlusion]
    name = _NAMES.get(label.occlusion, f"occlusion {label.occlusion}")
    if visible < lo - params.tolerance:
        raw = min((lo - visible) / max(params.full_deficit, 1e-6), 1.0)
        message = (
            f"marked {name} but nearer labels cover {1 - visible:.0%} of the box "
            f"(the spec expects at least {lo:.0%} visible)"
        )
    elif visible > hi + params.tolerance:
        raw = params.unexplained_raw * min((visible - hi) / max(params.full_excess, 1e-6), 1.0)
        message = (
            f"marked {name} but nearer labels cover only {1 - visible:.0%} of the box "
            f"(the spec expects at most {hi:.0%} visible; the occluder may be unlabelled)"
        )
    else:
        return None
    return CHECK.flag(
        label,
        raw,
        message,
        params,
        features={
            "visible_share": visible,
            "occlusion": float(label.occlusion),
            "visible_min": lo,
            "visible_max": hi,
            "n_nearer": float(n_nearer),
            "more_visible": float(visible > hi),
        },
    )


def _spec_defaults(spec: CompiledSpec) -> Mapping[str, Any]:
    return {"visible": dict(spec.occlusion.visible)}


CHECK = Check(
    id="occlusion_overlap",
    fn=check,
    params=Params,
    issue_types=(IssueType.attribute,),
    family=CheckFamily.geometry,
    requires=frozenset({Requirement.image_boxes}),
    description="occlusion levels that disagree with how much nearer labels cover the box",
    spec_defaults=_spec_defaults,
    rule_ids=("occlusion",),
)
