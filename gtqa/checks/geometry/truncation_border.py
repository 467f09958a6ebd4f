"""Truncation that disagrees with where the box is (rule ``truncation``).

Two directions, of very different strength:

* the box is away from every image border (by more than ``border_margin_px``) yet its truncation is above
  ``max_when_inside``: an object wholly inside the image cannot leave it, so this is strong evidence,
  growing with the excess truncation and with the box's distance to the nearest border;
* the box touches a border yet its truncation is below ``min_when_touching``: often a real omission, but
  an object may also end exactly at the border, and level-coded truncation (KITTI tracking's 0/1/2) writes
  small truncations as 0, so this is weak evidence (``touching_raw``).

Unknown truncation (None) is never a finding; frames with no known image size are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Label, Requirement
from gtqa.spec import CompiledSpec

_SIDES = ("left", "top", "right", "bottom")


class Params(CheckParams):
    border_margin_px: float = 2.0  # a box edge this close to (or past) a border touches it
    min_when_touching: float = 0.05  # truncation expected of a box touching a border
    max_when_inside: float = 0.1  # truncation allowed of a box away from every border
    touching_raw: float = 0.3  # evidence of "touches a border, marked not truncated"
    full_excess: float = 0.3  # truncation above max_when_inside that scores 1.0 (inside boxes)
    full_distance_px: float = 20.0  # distance to the nearest border at which an inside box scores fully


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        size = scope.image_size(frame)
        known = [lab for _, lab in scope.reviewed(frame) if lab.truncation is not None]
        if size is not None and known:
            out.extend(_frame_findings(known, size, params))
    return out


def _frame_findings(labels: list[Label], size: tuple[int, int], params: Params) -> list[Finding]:
    boxes = np.array([lab.box.as_list() for lab in labels], dtype=np.float64)
    trunc = np.array([lab.truncation for lab in labels], dtype=np.float64)
    # Distance of each edge to its border (negative past it): left, top, right, bottom.
    gaps = np.stack(
        [boxes[:, 0], boxes[:, 1], size[0] - 1.0 - boxes[:, 2], size[1] - 1.0 - boxes[:, 3]], axis=1
    )
    nearest = gaps.min(axis=1)
    touching = nearest <= params.border_margin_px
    under = touching & (trunc < params.min_when_touching)
    over = ~touching & (trunc > params.max_when_inside)
    raw = np.where(
        under,
        params.touching_raw * (1.0 - trunc / max(params.min_when_touching, 1e-6)),
        np.clip((trunc - params.max_when_inside) / max(params.full_excess, 1e-6), 0.0, 1.0)
        * np.clip(nearest / max(params.full_distance_px, 1e-6), 0.0, 1.0),
    )
    out = []
    for k in np.flatnonzero(under | over):
        side = int(np.argmin(gaps[k]))
        features = {
            "truncation": float(trunc[k]),
            "border_distance_px": float(nearest[k]),
            "touching": float(touching[k]),
            "side": float(side),
        }
        message = _message(bool(under[k]), float(trunc[k]), float(nearest[k]), side, params)
        out.append(CHECK.flag(labels[k], float(raw[k]), message, params, features=features))
    return out


def _message(touching: bool, trunc: float, distance: float, side: int, params: Params) -> str:
    if touching:
        return (
            f"box touches the {_SIDES[side]} image border but truncation is {trunc:.2f} "
            f"(the spec expects at least {params.min_when_touching:.2f} at the border)"
        )
    return (
        f"truncation is {trunc:.2f} but the box is {distance:.0f} px from the nearest "
        f"({_SIDES[side]}) border (the spec allows at most {params.max_when_inside:.2f} inside)"
    )


def _spec_defaults(spec: CompiledSpec) -> Mapping[str, Any]:
    rule = spec.truncation
    return {
        "border_margin_px": rule.border_margin_px,
        "min_when_touching": rule.min_when_touching,
        "max_when_inside": rule.max_when_inside,
    }


CHECK = Check(
    id="truncation_border",
    fn=check,
    params=Params,
    issue_types=(IssueType.attribute,),
    family=CheckFamily.geometry,
    requires=frozenset({Requirement.image_boxes}),
    description="truncation that disagrees with whether the box touches the image border",
    spec_defaults=_spec_defaults,
    rule_ids=("truncation",),
)
