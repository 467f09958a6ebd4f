"""Box sides against image edges: do two opposite sides both point to a tighter, shifted or wider box?

For each side of a label (sides at the image border are not judged: a truncated object's box ends there)
the edge energy across the side is compared between a band just inside and a band just outside every
candidate position within ``search`` times the box size (see ``_edges.fit_sides``); the tight edge is
taken to be where that step contrast peaks. One side on its own is a poor witness on street scenes (a
neighbouring car, a pole or a shadow is also a strong edge; KITTI boxes carry a few pixels of slack), so
the evidence comes from the two sides of an axis *agreeing* on a defect pattern:

* shifted: one side points inwards, the opposite one outwards (the box slid off the object);
* loose: both point inwards; cut: both point outwards (the box is too large / too small);

with the smaller of the two offsets as its size. Per axis,
``clip((offset - slack) / (full_offset - slack))``, and ``raw = 1 - (1 - x evidence)(1 - y evidence)``.
Measured on the shared KITTI images it is a weak witness (see the priors): it matters most when it
agrees with another check.
"""

from __future__ import annotations

import numpy as np

from gtqa.checks.base import Check, CheckParams
from gtqa.checks.image import _edges
from gtqa.checks.scope import ReviewScope
from gtqa.domain import CheckFamily, Finding, IssueType, Label, Requirement


class Params(CheckParams):
    min_height_px: float = 20.0  # smaller boxes have too few pixels per band to judge
    min_width_px: float = 8.0
    search: float = 0.3  # look for the edge within this fraction of the box size around each side
    band: float = 0.15  # inside / outside band width, fraction of the box size
    trim: float = 0.15  # profile over the middle of each side only (corners mix two sides)
    slack: float = 0.1  # offsets up to this fraction of the size are normal annotation slack
    full_offset: float = 0.3  # an offset this large (fraction of size) is full-strength evidence
    border_margin_px: float = 2.0  # a side this close to the image border is not judged


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    frames = _edges.frames_to_judge(
        scope, min_width_px=params.min_width_px, min_height_px=params.min_height_px
    )
    found = (_label_finding(lab, grads, params) for labels, grads in frames for lab in labels)
    return [f for f in found if f is not None]


def _label_finding(label: Label, grads: _edges.Gradients, params: Params) -> Finding | None:
    box = np.array(label.box.as_list())
    fit = _edges.fit_sides(
        grads,
        box,
        search=params.search,
        band=params.band,
        trim=params.trim,
        border_margin_px=params.border_margin_px,
    )
    axes = [_axis(fit, 0, 2, params), _axis(fit, 1, 3, params)]
    raw = 1.0 - (1.0 - axes[0][0]) * (1.0 - axes[1][0])
    if raw <= 0.0:
        return None
    return CHECK.flag(
        label, raw, _message(fit, axes), params, features=_features(label, fit, axes, grads, box)
    )


def _axis(fit: _edges.SideFit, a: int, b: int, params: Params) -> tuple[float, str]:
    """Evidence and pattern for the axis of sides ``a`` (left/top) and ``b`` (right/bottom)."""
    if not (fit.valid[a] and fit.valid[b]):
        return 0.0, "unjudged"
    oa, ob = float(fit.offset[a]), float(fit.offset[b])
    if oa * ob < 0:
        size, pattern = min(abs(oa), abs(ob)), "shifted"
    elif oa > 0 and ob > 0:
        size, pattern = min(oa, ob), "loose"
    elif oa < 0 and ob < 0:
        size, pattern = min(-oa, -ob), "cut"
    else:
        return 0.0, "fits"
    span = max(params.full_offset - params.slack, 1e-6)
    return float(np.clip((size - params.slack) / span, 0.0, 1.0)), pattern


def _features(
    label: Label,
    fit: _edges.SideFit,
    axes: list[tuple[float, str]],
    grads: _edges.Gradients,
    box: np.ndarray,
) -> dict[str, float]:
    feats: dict[str, float] = {
        "height": label.box.height,
        "width": label.box.width,
        "sides_judged": float(fit.valid.sum()),
        "evidence_x": axes[0][0],
        "evidence_y": axes[1][0],
    }
    for k, side in enumerate(_edges.SIDES):
        if fit.valid[k]:
            feats[f"offset_{side}"] = float(fit.offset[k])
            feats[f"gain_{side}"] = float(fit.best[k] - fit.drawn[k])
            feats[f"contrast_{side}"] = float(fit.drawn[k])
    tex = _edges.texture(grads, box)
    if tex is not None:
        feats["texture"] = tex
    if label.occlusion is not None:
        feats["occlusion"] = float(label.occlusion)
    if label.truncation is not None:
        feats["truncation"] = label.truncation
    return feats


def _message(fit: _edges.SideFit, axes: list[tuple[float, str]]) -> str:
    parts = []
    for (evidence, pattern), (a, b), axis in zip(
        axes, ((0, 2), (1, 3)), ("horizontally", "vertically"), strict=True
    ):
        if evidence <= 0:
            continue
        pa, pb = fit.offset[a] * fit.size[a], fit.offset[b] * fit.size[b]
        what = {"shifted": "shifted", "loose": "too large", "cut": "too small"}[pattern]
        sides = f"{_edges.SIDES[a]} edge {pa:+.0f} px, {_edges.SIDES[b]} edge {pb:+.0f} px inwards"
        parts.append(f"{what} {axis} ({sides})")
    return "image edges suggest the box is " + "; ".join(parts)


CHECK = Check(
    id="edge_fit",
    fn=check,
    params=Params,
    issue_types=(IssueType.bad_box,),
    family=CheckFamily.image,
    description="box sides that a clearly stronger nearby image edge suggests are loose or shifted",
    requires=frozenset({Requirement.images}),
    frame_local=True,
)
