"""A label whose 2D box jumps off the path its track follows in the neighbouring frames.

Each observation is predicted from up to two observations of its track on each side (within ``max_step``
frames) by a straight-line fit per box edge over frame index. Each edge's deviation, in box heights, is
divided by the track's own robust spread of such deviations (1.4826 x median absolute deviation over the
window, floored at ``floor``). A box shifted or resized moves both edges of an axis; a pedestrian whose
visible part changes as people pass in front of it moves one: in KITTI 0016 single horizontal edges of
partly occluded pedestrians wobble by up to 25 % of the box height, while top and bottom edges (drawn
from the 3D box) follow a smooth path to within 1-3 %. So per axis the smaller of the two edges'
deviations counts, and the two axes combine as a vector. A neighbour that deviates more than the label
is left out of its fit, so one shifted box does not drag its neighbours' predictions (the neighbours
must agree with each other). A prediction from one side only (a track's first or last frames) counts
for less, and evidence needs the IoU with the prediction to be low as well.

On 0016 (3,135 labels), 22 labels score, 2 at raw >= 0.5: pedestrians of track 20 whose 2D box drifts
15-20 px sideways for a frame or two while its 3D box moves smoothly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from gtqa.checks.base import Check, ramp
from gtqa.checks.scope import ReviewScope
from gtqa.checks.stats import MAD_TO_SIGMA
from gtqa.checks.temporal._tracks import TemporalParams, Track, sequence_tracks
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement
from gtqa.domain.boxes import iou as box_iou
from gtqa.domain.geometry import FloatArray

_EDGES = ("x1", "y1", "x2", "y2")
_OFFSETS = np.array([-2, -1, 1, 2])  # neighbour positions along the track, relative to the label


class Params(TemporalParams):
    max_step: int = Field(default=3, ge=1, le=10, description="farthest neighbour, in frames")
    floor: float = Field(default=0.02, gt=0, description="least spread of an edge, in box heights")
    slack_px: float = Field(default=1.0, ge=0, description="edge deviation ignored, pixels (rounding)")
    z_start: float = Field(default=3.0, gt=0, description="deviation / spread giving no evidence")
    z_full: float = Field(default=9.0, gt=0, description="deviation / spread giving full evidence")
    iou_start: float = Field(default=0.9, ge=0, le=1, description="IoU with the prediction, no evidence")
    iou_full: float = Field(default=0.7, ge=0, le=1, description="IoU with the prediction, full evidence")
    one_sided: float = Field(default=0.6, ge=0, le=1, description="x raw when predicted from one side")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for seq in sequence_tracks(scope):
        for track in seq.tracks.values():
            if len(track.index) < 3:
                continue
            reported = np.flatnonzero(np.isin(track.index, list(seq.reported)))
            if len(reported):
                out.extend(_judge_track(track, reported, params))
    return out


def _judge_track(track: Track, reported: np.ndarray, params: Params) -> list[Finding]:
    first = _residuals(track, np.arange(len(track.index)), np.ones((len(track.index), 4), bool), params)
    out = []
    for i in reported:
        finding = _judge(track, int(i), first, params)
        if finding is not None:
            out.append(finding)
    return out


def _judge(track: Track, i: int, first: _Fit, params: Params) -> Finding | None:
    t = int(track.index[i])
    # The spread uses residuals whose own neighbours lie within the window of t (chunk independence).
    near = np.abs(track.index - t) <= params.window - params.max_step
    spread = _spread(first.residual[near & first.ok], params.floor)
    z_all = np.abs(first.residual) / spread
    z_first = np.hypot(np.minimum(z_all[:, 0], z_all[:, 2]), np.minimum(z_all[:, 1], z_all[:, 3]))
    # A neighbour that deviates more than this label does is the outlier: leave it out of the fit.
    z_nb = z_first[np.clip(first.positions[i], 0, len(z_first) - 1)]
    keep = ~((z_nb >= params.z_start) & (z_nb > z_first[i]) & first.used[i])
    fit = _residuals(track, np.array([i]), keep[None, :], params)
    if not fit.ok[0]:
        return None
    z_edges = np.abs(fit.residual[0]) / spread
    z = _rigid_z(z_edges)
    iou = box_iou(track.boxes[i], fit.pred[0])
    two_sided = bool(fit.two_sided[0])
    raw = float(ramp(z, params.z_start, params.z_full)) * float(ramp(iou, params.iou_start, params.iou_full))
    raw *= 1.0 if two_sided else params.one_sided
    if raw <= 0:
        return None
    return _finding(track, i, fit.pred[0], z_edges, iou, two_sided, raw, params)


def _finding(
    track: Track,
    i: int,
    pred: FloatArray,
    z_edges: FloatArray,
    iou: float,
    two_sided: bool,
    raw: float,
    params: Params,
) -> Finding:
    label = track.labels[i]
    box = track.boxes[i]
    height = max(pred[3] - pred[1], 1.0)
    pw = max(pred[2] - pred[0], 1.0)
    shift = ((box[0] + box[2]) - (pred[0] + pred[2])) / 2, ((box[1] + box[3]) - (pred[1] + pred[3])) / 2
    scale = max(box[2] - box[0], 1.0) / pw, max(box[3] - box[1], 1.0) / height
    return CHECK.flag(
        label,
        raw,
        f"box jumps off track {track.id}'s path: IoU {iou:.2f} with the box "
        f"{'interpolated' if two_sided else 'extrapolated'} from its neighbouring frames, moved by "
        f"({shift[0]:+.0f}, {shift[1]:+.0f}) px and scaled {scale[0]:.2f}x{scale[1]:.2f} (w x h); "
        f"{_rigid_z(z_edges):.0f}x the track's usual wobble",
        params,
        features={
            "iou_predicted": iou,
            "z": _rigid_z(z_edges),
            **{f"z_{e}": float(v) for e, v in zip(_EDGES, z_edges, strict=True)},
            "shift_x": shift[0] / height,
            "shift_y": shift[1] / height,
            "log_width_ratio": float(np.log(scale[0])),
            "log_height_ratio": float(np.log(scale[1])),
            "two_sided": float(two_sided),
        },
    )


@dataclass(frozen=True)
class _Fit:
    """Predictions of some observations of a track from their neighbours (arrays over those rows)."""

    positions: NDArray[np.int64]  # (n, 4) neighbour positions along the track
    used: NDArray[np.bool_]  # (n, 4) which neighbours the fit used
    pred: FloatArray  # (n, 4) predicted boxes
    residual: FloatArray  # (n, 4) per-edge deviation, in predicted box heights

    @property
    def two_sided(self) -> NDArray[np.bool_]:
        return np.asarray(self.used[:, :2].any(axis=1) & self.used[:, 2:].any(axis=1), dtype=bool)

    @property
    def ok(self) -> NDArray[np.bool_]:
        return np.asarray(self.two_sided | (self.used.sum(axis=1) >= 2), dtype=bool)


def _residuals(track: Track, rows: np.ndarray, allowed: np.ndarray, params: Params) -> _Fit:
    """Straight-line fit per edge over the allowed neighbours of each row, evaluated at the row."""
    n = len(track.index)
    pos = rows[:, None] + _OFFSETS[None, :]
    inside = (pos >= 0) & (pos < n)
    pos_c = np.clip(pos, 0, n - 1)
    x = (track.index[pos_c] - track.index[rows][:, None]).astype(np.float64)  # frame offsets
    used = inside & (np.abs(x) <= params.max_step) & allowed
    w = used.astype(np.float64)
    y = track.boxes[pos_c]  # (r, 4 neighbours, 4 edges)
    sw = np.maximum(w.sum(axis=1), 1e-9)
    mx = (w * x).sum(axis=1) / sw
    my = (w[:, :, None] * y).sum(axis=1) / sw[:, None]
    dx = (x - mx[:, None]) * w
    sxx = (dx * (x - mx[:, None])).sum(axis=1)
    slope = np.where(sxx[:, None] > 0, (dx[:, :, None] * (y - my[:, None, :])).sum(axis=1), 0.0)
    slope = slope / np.maximum(sxx, 1e-9)[:, None]
    pred = my - slope * mx[:, None]
    height = np.maximum(pred[:, 3] - pred[:, 1], 1.0)[:, None]
    dev = track.boxes[rows] - pred
    residual = np.sign(dev) * np.maximum(np.abs(dev) - params.slack_px, 0.0) / height
    return _Fit(pos, used, pred, residual)


def _rigid_z(z_edges: FloatArray) -> float:
    """How far the box moved as a whole: per axis the smaller of its two edges' deviations (a shift or
    a resize moves both edges; a passer-by hiding one side of the object moves only one), combined over
    the two axes (a diagonal shift shows on both)."""
    return float(np.hypot(min(z_edges[0], z_edges[2]), min(z_edges[1], z_edges[3])))


def _spread(residuals: FloatArray, floor: float) -> FloatArray:
    if len(residuals) == 0:
        return np.full(4, floor)
    mad = np.median(np.abs(residuals), axis=0) * MAD_TO_SIGMA
    return np.asarray(np.maximum(mad, floor), dtype=np.float64)


CHECK = Check(
    id="track_jump",
    fn=check,
    params=Params,
    issue_types=(IssueType.bad_box,),
    family=CheckFamily.temporal,
    description="a 2D box that jumps off the path of its track's neighbouring boxes",
    requires=frozenset({Requirement.tracks, Requirement.sequences, Requirement.image_boxes}),
)
