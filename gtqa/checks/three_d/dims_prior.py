"""A cuboid whose height, width or length is far from the typical size of its class (spec rule
``dimensions-3d``: per class h/w/l priors in metres and the |log(size / prior)| that scores 1.0).

Evidence per dimension ramps from ``onset`` x tolerance to the tolerance. Footprints vary more than
heights: on real KITTI labels (kitti_object with 3D boxes, tracking 0016) |log(size / prior)| reaches
0.13 for pedestrian heights but 0.47 for widths and 0.72 for lengths (stride, arms, a person seen
side-on), and 0.45 for car lengths (small city cars), so widths and lengths get ``footprint_factor`` x
the tolerance. With the defaults no real label of kitti_tracking scores above 0.05 (one pedestrian track
0.53 m long scores 0.04) and one pedestrian of kitti_object scores 0.6 (length 0.41 m).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement
from gtqa.spec import CompiledSpec
from gtqa.spec.rules import DimsPrior

_DIMS = ("height", "width", "length")


class Params(CheckParams):
    priors: dict[str, DimsPrior] = Field(default_factory=dict, description="class -> h/w/l prior (spec)")
    onset: float = Field(default=0.5, ge=0, lt=1, description="share of the tolerance giving no evidence")
    footprint_factor: float = Field(default=1.5, gt=0, description="x tolerance for width and length")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        for _, label in scope.reviewed(frame):
            prior, c = params.priors.get(label.cls), label.cuboid
            if prior is None or c is None or min(c.h, c.w, c.l) <= 0:
                continue  # no prior for the class, or an unknown/malformed cuboid (other checks' job)
            size = np.array([c.h, c.w, c.l])
            typical = np.array([prior.h, prior.w, prior.l])
            tol = prior.tolerance * np.array([1.0, params.footprint_factor, params.footprint_factor])
            dev = np.log(size / typical)
            score = np.clip((np.abs(dev) / tol - params.onset) / (1 - params.onset), 0, 1)
            d = int(np.argmax(score))
            if score[d] <= 0:
                continue
            out.append(
                CHECK.flag(
                    label,
                    float(score[d]),
                    f"3D {_DIMS[d]} {size[d]:.2f} m is {np.exp(dev[d]):.2f}x the typical {label.cls} "
                    f"{_DIMS[d]} of {typical[d]:.2f} m (h/w/l {c.h:.2f}/{c.w:.2f}/{c.l:.2f} m)",
                    params,
                    features={
                        **{f"log_ratio_{n}": float(v) for n, v in zip(_DIMS, dev, strict=True)},
                        "tolerance": prior.tolerance,
                    },
                )
            )
    return out


def _spec_defaults(spec: CompiledSpec) -> dict[str, object]:
    return {"priors": dict(spec.dimensions_3d.classes)}


CHECK = Check(
    id="dims_prior",
    fn=check,
    params=Params,
    issue_types=(IssueType.geometry_3d,),
    family=CheckFamily.three_d,
    description="cuboid size far from the class's typical size (spec dimensions-3d)",
    requires=frozenset({Requirement.cuboids}),
    spec_defaults=_spec_defaults,
    rule_ids=("dimensions-3d",),
)
