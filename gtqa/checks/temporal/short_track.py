"""A track with only one or two labels in a longer stretch of sequence: perhaps a box with no object.

A real object seen by a camera at 10 Hz stays in view for many frames, so its track is long; a box drawn
by mistake (or pasted from elsewhere) has no history. In KITTI 0016 the shortest track has 4 labels, and
it is cut by the end of the sequence. Objects do appear briefly where they enter or leave the image, when
small and far (they pass in and out of the labelling threshold), or partly inside a DontCare region
(labelled only when they step out of it; the more of the box lies in DontCare, the weaker: 0016 has
about five DontCare regions a frame, so merely touching one says little), and tracks are cut by the
sequence's ends: each weakens the evidence.

Counted within ``window`` frames of the label, and only where the sequence has at least ``min_frames``
frames there.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, ramp
from gtqa.checks.scope import ReviewScope
from gtqa.checks.temporal._tracks import SequenceTracks, TemporalParams, Track, inside_image, sequence_tracks
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement
from gtqa.domain.boxes import union_coverage


class Params(TemporalParams):
    max_labels: int = Field(default=2, ge=1, description="a track with at most this many labels is short")
    min_frames: int = Field(default=10, ge=1, description="frames the sequence needs around the label")
    two_labels: float = Field(default=0.7, ge=0, le=1, description="x raw for a track of two labels")
    border_px: float = Field(default=3.0, ge=0, description="a box this close to the border touches it")
    border_factor: float = Field(default=0.5, ge=0, le=1, description="x raw at the image border")
    small_px: float = Field(default=25.0, ge=0, description="box height below which objects are small")
    tiny_px: float = Field(default=12.0, ge=0, description="... and at or below which raw is x small_factor")
    small_factor: float = Field(default=0.5, ge=0, le=1, description="x raw for tiny boxes")
    dontcare_px: float = Field(default=10.0, ge=0, description="grow the box this much to look for DontCare")
    dontcare_full: float = Field(
        default=0.5, gt=0, le=1, description="share of the grown box in DontCare that weakens fully"
    )
    dontcare_factor: float = Field(default=0.5, ge=0, le=1, description="x raw at or above dontcare_full")
    edge_frames: int = Field(default=2, ge=0, description="this close to the sequence's end counts as cut")
    edge_factor: float = Field(default=0.4, ge=0, le=1, description="x raw for a track cut by the end")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for seq in sequence_tracks(scope):
        for track, i in seq.reported_labels():
            finding = _judge(scope, seq, track, i, params)
            if finding is not None:
                out.append(finding)
    return out


def _judge(scope: ReviewScope, seq: SequenceTracks, track: Track, i: int, params: Params) -> Finding | None:
    t = int(track.index[i])
    lo, hi = seq.span(t, params.window)
    near = track.near(t, params.window)
    count = int(near.sum())
    if count > params.max_labels or hi - lo + 1 < params.min_frames:
        return None
    seen = track.index[near]
    cut = bool(seen.min() - lo <= params.edge_frames and lo > t - params.window) or bool(
        hi - seen.max() <= params.edge_frames and hi < t + params.window
    )
    factors = _factors(scope, seq, track, i, params)
    factors["sequence_end"] = params.edge_factor if cut else 1.0
    factors["labels"] = params.two_labels if count >= 2 else 1.0
    raw = float(np.prod(list(factors.values())))
    label = track.labels[i]
    weak = [k.replace("_", " ") for k, v in factors.items() if v < 1.0 and k != "labels"]
    return CHECK.flag(
        label,
        raw,
        f"track {track.id} has only {count} label(s) in frames {lo}-{hi}: an object in view has a "
        f"history, a box with no object usually does not" + (f" (weaker: {', '.join(weak)})" if weak else ""),
        params,
        features={"labels": count, **{f"factor_{k}": v for k, v in factors.items()}},
    )


def _factors(
    scope: ReviewScope, seq: SequenceTracks, track: Track, i: int, params: Params
) -> dict[str, float]:
    frame = seq.frames[int(track.index[i])]
    box = track.boxes[i][None, :]
    size = scope.image_size(frame)
    m = params.border_px
    grown = box + np.array([-m, -m, m, m])
    border = size is not None and float(inside_image(grown, size)[0]) < 1.0
    height = float(box[0, 3] - box[0, 1])
    small = 1.0 - (1.0 - params.small_factor) * float(ramp(height, params.small_px, params.tiny_px))
    d = params.dontcare_px
    dontcare = np.array([x.box.as_list() for x in scope.dontcare(frame)]).reshape(-1, 4)
    in_dc = float(union_coverage(box + np.array([-d, -d, d, d]), dontcare)[0])
    return {
        "image_border": params.border_factor if border else 1.0,
        "small": small,
        "near_dontcare": 1.0 - (1.0 - params.dontcare_factor) * float(ramp(in_dc, 0.0, params.dontcare_full)),
    }


CHECK = Check(
    id="short_track",
    fn=check,
    params=Params,
    issue_types=(IssueType.spurious_object,),
    family=CheckFamily.temporal,
    description="a track with only one or two labels in a longer sequence (a box with no object?)",
    requires=frozenset({Requirement.tracks, Requirement.sequences}),
)
