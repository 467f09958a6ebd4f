"""A box with no area (x2 <= x1 or y2 <= y1) or reversed corners cannot be a correct label."""

from __future__ import annotations

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement


class Params(CheckParams):
    min_side_px: float = 1.0  # a side shorter than this (or negative) is degenerate


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out = []
    for frame in scope.frames:
        for label in frame.labels:  # DontCare regions too: a degenerate region is also malformed
            w, h = label.box.width, label.box.height
            if w >= params.min_side_px and h >= params.min_side_px:
                continue
            reversed_ = w < 0 or h < 0
            message = (
                f"box corners are reversed (width {w:.1f}, height {h:.1f} px)"
                if reversed_
                else f"box has no area (width {w:.1f}, height {h:.1f} px)"
            )
            out.append(CHECK.flag(label, 1.0, message, params, features={"width": w, "height": h}))
    return out


CHECK = Check(
    id="degenerate_box",
    fn=check,
    params=Params,
    issue_types=(IssueType.bad_box,),
    family=CheckFamily.geometry,
    requires=frozenset({Requirement.image_boxes}),
    description="boxes with no area or reversed corners",
)
