"""A LiDAR cuboid whose size is far from its class's (spec rule ``dimensions-3d``, length/width/height
priors in metres measured on real AV2 cuboids, see ``specs/av2.md``). A label whose class was changed
to the wrong one usually shows here first: a vehicle-sized "PEDESTRIAN"."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, CheckParams, ramp
from gtqa.checks.lidar._lidar import lidar_labels
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement
from gtqa.domain.lidar import lidar_cuboids
from gtqa.spec import CompiledSpec
from gtqa.spec.rules import DimsPrior

CHECK_ID = "lidar_size"


class Params(CheckParams):
    priors: dict[str, DimsPrior] = Field(default_factory=dict, description="class -> h/w/l prior (spec)")
    onset: float = Field(default=0.5, ge=0, lt=1, description="share of the tolerance giving no evidence")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        labels = [lab for lab in lidar_labels(scope, frame) if lab.cls in params.priors]
        if not labels:
            continue
        cub = lidar_cuboids(labels)
        pri = [params.priors[lab.cls] for lab in labels]
        typical = np.array([[p.l, p.w, p.h] for p in pri])
        tol = np.array([p.tolerance for p in pri])
        dev = np.abs(np.log(cub.dims / typical)).max(axis=1)
        raw = ramp(dev / tol, params.onset, 1.0)
        for i in np.flatnonzero(raw > 0):
            l, w, h = cub.dims[i]  # noqa: E741
            message = f"{labels[i].cls} of {l:.2f} x {w:.2f} x {h:.2f} m, far from the class's usual size"
            finding = CHECK.flag(
                labels[i],
                float(raw[i]),
                message,
                params,
                rule_ids=(),
                features={"size_log_dev": float(dev[i])},
            )
            out.append(finding)
    return out


def _defaults(spec: CompiledSpec) -> dict[str, object]:
    return {"priors": spec.dimensions_3d.classes}


CHECK = Check(
    id=CHECK_ID,
    fn=check,
    params=Params,
    issue_types=(IssueType.wrong_class,),
    family=CheckFamily.lidar,
    description="a LiDAR cuboid far from its class's size (the spec's dimensions-3d priors)",
    requires=frozenset({Requirement.lidar}),
    spec_defaults=_defaults,
    rule_ids=("dimensions-3d",),
)
