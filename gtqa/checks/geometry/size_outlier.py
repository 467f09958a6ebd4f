"""A box whose size or shape is far from the usual for its class: robust z-scores against the dataset's
per-class median and MAD (``scope.stats``) of log width, log height and log aspect (log height / width).

The evidence is the largest of the three |z|, ramping from 0 at ``z_min`` to 1 at ``z_full``. Width and
height change with distance, so they only speak when far out; aspect does not, and is the sharper signal.

What the box cannot show is not held against it:

* a box touching an image border (within ``border_margin_px``) is cut by the image: the dimension across
  that border and the aspect say nothing about the object and are ignored (only the left and top borders
  are known when the image size is not);
* a truncated (> 0) or occluded (>= 1) label's box covers part of the object, which explains an odd
  aspect: its aspect z is multiplied by ``explained_factor``. Unknown truncation or occlusion explains
  nothing and is never itself a finding.

Sigmas are floored (``min_sigma_*``, log units): a sequence that shows a few parked cars in every frame
gives a MAD near zero, which would make every other car an outlier. The floors are about the smallest
per-class spreads measured on KITTI data with many distinct objects: log aspect 0.19-0.24 (Pedestrian,
Car, Cyclist), log width and height 0.5-0.8.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import ClassStats
from gtqa.domain import CheckFamily, Finding, IssueType, Label, Requirement
from gtqa.domain.geometry import FloatArray
from gtqa.spec import CompiledSpec

_TYPICAL = ("{:.0f} px wide", "{:.0f} px high", "height/width {:.2f}")


class Params(CheckParams):
    z_min: float = 4.0  # |z| at which the evidence starts
    z_full: float = 8.0  # |z| that scores 1.0
    min_sigma_size: float = 0.5  # floor of the log width / log height sigma
    min_sigma_aspect: float = 0.2  # floor of the log aspect sigma
    explained_factor: float = 0.5  # aspect z multiplier for truncated (> 0) or occluded (>= 1) labels
    border_margin_px: float = 2.0  # a box edge this close to an image border is cut by the image


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for frame in scope.frames:
        size = scope.image_size(frame)
        by_class: dict[str, list[Label]] = {}
        for _, label in scope.reviewed(frame):
            if label.box.width > 0 and label.box.height > 0:  # others are degenerate_box's
                by_class.setdefault(label.cls, []).append(label)
        for cls, labels in by_class.items():
            stats = scope.stats.for_class(cls)
            if stats is not None:
                out.extend(_class_findings(labels, stats, size, params))
    return out


def _class_findings(
    labels: list[Label], stats: ClassStats, size: tuple[int, int] | None, params: Params
) -> list[Finding]:
    boxes = np.array([lab.box.as_list() for lab in labels], dtype=np.float64)
    lw, lh = np.log(boxes[:, 2] - boxes[:, 0]), np.log(boxes[:, 3] - boxes[:, 1])
    z = np.stack(
        [
            _z(lw, stats.log_width.median, stats.log_width.sigma, params.min_sigma_size),
            _z(lh, stats.log_height.median, stats.log_height.sigma, params.min_sigma_size),
            _z(lh - lw, stats.log_aspect.median, stats.log_aspect.sigma, params.min_sigma_aspect),
        ],
        axis=1,
    )
    weights = _weights(labels, boxes, size, params)
    weighted = np.abs(z) * weights
    score = weighted.max(axis=1)
    raw = np.clip((score - params.z_min) / max(params.z_full - params.z_min, 1e-6), 0.0, 1.0)
    out = []
    for k in np.flatnonzero(score > params.z_min):
        label, dim = labels[k], int(weighted[k].argmax())
        out.append(
            CHECK.flag(
                label,
                float(raw[k]),
                _message(label, dim, float(z[k, dim]), float(weights[k, dim]), stats),
                params,
                features={
                    "z_width": float(z[k, 0]),
                    "z_height": float(z[k, 1]),
                    "z_aspect": float(z[k, 2]),
                    "aspect_weight": float(weights[k, 2]),
                    "width": float(np.exp(lw[k])),
                    "height": float(np.exp(lh[k])),
                    "class_n": float(stats.n),
                },
            )
        )
    return out


def _z(values: FloatArray, median: float, sigma: float, floor: float) -> FloatArray:
    return np.asarray((values - median) / max(sigma, floor), dtype=np.float64)


def _weights(
    labels: list[Label], boxes: FloatArray, size: tuple[int, int] | None, params: Params
) -> FloatArray:
    """(N, 3) multipliers of |z| for width, height, aspect: 0 where the image cut the box, the
    explained factor on the aspect of truncated or occluded labels, else 1."""
    m = params.border_margin_px
    cut_x = boxes[:, 0] <= m
    cut_y = boxes[:, 1] <= m
    if size is not None:
        cut_x |= boxes[:, 2] >= size[0] - 1 - m
        cut_y |= boxes[:, 3] >= size[1] - 1 - m
    explained = np.array([(lab.truncation or 0.0) > 0.0 or (lab.occlusion or 0) >= 1 for lab in labels])
    weights = np.ones((len(labels), 3))
    weights[:, 2] = np.where(explained, params.explained_factor, 1.0)
    weights[cut_x, 0] = 0.0
    weights[cut_y, 1] = 0.0
    weights[cut_x | cut_y, 2] = 0.0
    return weights


def _message(label: Label, dim: int, z: float, weight: float, stats: ClassStats) -> str:
    medians = (stats.log_width.median, stats.log_height.median, stats.log_aspect.median)
    actual = (label.box.width, label.box.height, label.box.height / label.box.width)[dim]
    note = " (truncation/occlusion explains part of it)" if 0 < weight < 1 else ""
    return (
        f"{label.cls} box is {_TYPICAL[dim].format(actual)}, {abs(z):.1f} robust sigmas from the class's "
        f"typical {_TYPICAL[dim].format(np.exp(medians[dim]))} over {stats.n} labels{note}"
    )


def _spec_defaults(spec: CompiledSpec) -> Mapping[str, Any]:
    return {"border_margin_px": spec.truncation.border_margin_px}


CHECK = Check(
    id="size_outlier",
    fn=check,
    params=Params,
    issue_types=(IssueType.bad_box,),
    family=CheckFamily.geometry,
    requires=frozenset({Requirement.image_boxes}),
    description="boxes whose width, height or aspect is far from their class's usual (robust z-score)",
    spec_defaults=_spec_defaults,
)
