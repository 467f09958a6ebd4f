"""A box smaller than the spec's size limit for its class (rule ``box-size``).

The shortfall is relative: ``1 - size / limit`` on the side that falls furthest below its limit, so a
box 9 px high under a 10 px limit (0.1) is weak evidence and one 5 px high (0.5) is full strength at the
default ``full_shortfall``. Boxes with a non-positive side are left to ``degenerate_box``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement
from gtqa.spec import CompiledSpec
from gtqa.spec.rules import SizeLimit


class Params(CheckParams):
    default: SizeLimit = SizeLimit()  # limits of classes not listed in ``classes`` (pixels)
    classes: dict[str, SizeLimit] = Field(default_factory=dict)
    full_shortfall: float = 0.5  # relative shortfall (1 - size / limit) that scores 1.0


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        reviewed = scope.reviewed(frame)
        if not reviewed:
            continue
        boxes = frame.label_boxes()[[i for i, _ in reviewed]]
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        limits = [params.classes.get(lab.cls, params.default) for _, lab in reviewed]
        min_w = np.array([lim.min_width_px for lim in limits])
        min_h = np.array([lim.min_height_px for lim in limits])
        short_w = _shortfall(w, min_w)
        short_h = _shortfall(h, min_h)
        short = np.maximum(short_w, short_h)
        raw = np.clip(short / max(params.full_shortfall, 1e-6), 0.0, 1.0)
        for k in np.flatnonzero((w > 0) & (h > 0) & (short > 0)):
            label = reviewed[k][1]
            out.append(
                CHECK.flag(
                    label,
                    float(raw[k]),
                    f"{label.cls} box is {w[k]:.1f} x {h[k]:.1f} px, below the spec's minimum "
                    f"{min_w[k]:g} x {min_h[k]:g} px (width x height)",
                    params,
                    features={
                        "width": float(w[k]),
                        "height": float(h[k]),
                        "shortfall_width": float(short_w[k]),
                        "shortfall_height": float(short_h[k]),
                    },
                )
            )
    return out


def _shortfall(size: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """``1 - size / limit`` where the size is under a positive limit, else 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((limit > 0) & (size < limit), 1.0 - size / limit, 0.0)


def _spec_defaults(spec: CompiledSpec) -> Mapping[str, Any]:
    limits = spec.size_limits
    return {"default": limits.default, "classes": limits.classes}


CHECK = Check(
    id="min_size",
    fn=check,
    params=Params,
    issue_types=(IssueType.spec_violation,),
    family=CheckFamily.geometry,
    requires=frozenset({Requirement.image_boxes}),
    description="boxes below the spec's minimum width or height for their class",
    spec_defaults=_spec_defaults,
    rule_ids=("box-size",),
)
