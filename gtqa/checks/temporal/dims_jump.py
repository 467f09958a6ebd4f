"""A cuboid whose height, width or length differs from the rest of its track.

One physical object keeps its 3D size (spec, "Tracks"). KITTI does this exactly: in sequence 0016 every
one of the 28 tracks has one h/w/l over all its frames (spread 0.000 m), so any change is a defect. For
data whose sizes are estimated frame by frame, the evidence starts above the spread of the track's other
labels (``spread_factor`` x their median absolute log deviation), never below ``start``.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, ramp
from gtqa.checks.scope import ReviewScope
from gtqa.checks.temporal._tracks import TemporalParams, Track, sequence_tracks
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement
from gtqa.domain.geometry import FloatArray

_DIMS = ("height", "width", "length")


class Params(TemporalParams):
    min_others: int = Field(default=2, ge=1, description="other cuboids of the track needed")
    start: float = Field(default=0.03, ge=0, description="|log(size / track median)| giving no evidence")
    full: float = Field(default=0.2, gt=0, description="|log(size / track median)| giving full evidence")
    spread_factor: float = Field(default=4.0, ge=0, description="others' spread x this raises start")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for seq in sequence_tracks(scope):
        for track in seq.tracks.values():
            reported = np.flatnonzero(np.isin(track.index, list(seq.reported)))
            if len(reported) == 0:
                continue
            logs, ok = _log_dims(track)
            for i in reported:
                finding = _judge(track, int(i), logs, ok, params)
                if finding is not None:
                    out.append(finding)
    return out


def _log_dims(track: Track) -> tuple[FloatArray, np.ndarray]:
    """log(h, w, l) of every observation, and which have a usable cuboid (unknown is not a defect)."""
    dims = np.ones((len(track.labels), 3))
    ok = np.zeros(len(track.labels), dtype=bool)
    for j, label in enumerate(track.labels):
        c = label.cuboid
        if c is not None and min(c.h, c.w, c.l) > 0:
            dims[j], ok[j] = (c.h, c.w, c.l), True
    return np.log(dims), ok


def _judge(track: Track, i: int, logs: FloatArray, ok: np.ndarray, params: Params) -> Finding | None:
    near = track.near(int(track.index[i]), params.window) & ok
    near[i] = False
    others = logs[near]
    if not ok[i] or len(others) < params.min_others:
        return None
    median = np.median(others, axis=0)
    spread = float(np.median(np.abs(others - median), axis=0).max())
    dev = logs[i] - median
    d = int(np.argmax(np.abs(dev)))
    start = max(params.start, params.spread_factor * spread)
    raw = float(ramp(abs(dev[d]), start, max(params.full, start + 1e-6)))
    if raw <= 0:
        return None
    label = track.labels[i]
    size = np.exp(median)
    return CHECK.flag(
        label,
        raw,
        f"3D {_DIMS[d]} {np.exp(logs[i][d]):.2f} m differs by {np.expm1(dev[d]):+.0%} from track "
        f"{track.id}'s {size[d]:.2f} m (h/w/l {size[0]:.2f}/{size[1]:.2f}/{size[2]:.2f} m over "
        f"{len(others)} other labels)",
        params,
        rule_ids=("dimensions-3d",),
        features={
            "log_dev_max": float(abs(dev[d])),
            **{f"log_dev_{n}": float(v) for n, v in zip(_DIMS, dev, strict=True)},
            "others_spread": spread,
            "others": len(others),
        },
    )


CHECK = Check(
    id="dims_jump",
    fn=check,
    params=Params,
    issue_types=(IssueType.geometry_3d,),
    family=CheckFamily.temporal,
    description="a cuboid whose size differs from its track's (one object keeps one 3D size)",
    requires=frozenset({Requirement.tracks, Requirement.sequences, Requirement.cuboids}),
)
