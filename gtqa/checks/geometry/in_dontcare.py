"""A label lying mostly inside DontCare regions (rule ``dontcare``): either the object is worth a label and
the region should not cover it, or it is not and the label should not exist.

The share of the label's area inside the union of the frame's DontCare boxes is sampled on a grid (see
``union_coverage``). At ``max_inside`` (the spec's limit) the evidence starts at 0 and grows linearly to
1 for a label entirely inside.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement
from gtqa.domain.boxes import union_coverage
from gtqa.spec import CompiledSpec


class Params(CheckParams):
    max_inside: float = 0.5  # share of a label's area that may lie inside DontCare regions
    grid: int = 16  # samples per box side when measuring the covered share


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        reviewed, regions = scope.reviewed(frame), scope.dontcare(frame)
        if not reviewed or not regions:
            continue
        boxes = frame.label_boxes()
        region_boxes = np.array([r.box.as_list() for r in regions], dtype=np.float64)
        labels = boxes[[i for i, _ in reviewed]]
        share = union_coverage(labels, region_boxes, grid=params.grid)
        has_area = (labels[:, 2] > labels[:, 0]) & (labels[:, 3] > labels[:, 1])
        raw = np.clip((share - params.max_inside) / max(1.0 - params.max_inside, 1e-6), 0.0, 1.0)
        for k in np.flatnonzero(has_area & (share >= params.max_inside) & (share > 0)):
            label = reviewed[k][1]
            out.append(
                CHECK.flag(
                    label,
                    float(raw[k]),
                    f"{share[k]:.0%} of this {label.cls} box lies inside DontCare regions "
                    f"(the spec allows less than {params.max_inside:.0%})",
                    params,
                    features={"inside_share": float(share[k]), "n_regions": float(len(regions))},
                )
            )
    return out


def _spec_defaults(spec: CompiledSpec) -> Mapping[str, Any]:
    return {"max_inside": spec.dontcare.max_inside}


CHECK = Check(
    id="in_dontcare",
    fn=check,
    params=Params,
    issue_types=(IssueType.spec_violation,),
    family=CheckFamily.geometry,
    requires=frozenset({Requirement.image_boxes}),
    description="labels lying mostly inside DontCare regions",
    spec_defaults=_spec_defaults,
    rule_ids=("dontcare",),
)
