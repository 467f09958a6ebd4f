"""A track labelled before and after some frames but not in them: the object is probably missing there.

For a track observed at frame indices ``t1 < t2`` (``t2 - t1 - 1`` missing frames, at most ``max_gap``),
each missing frame gets the box linearly interpolated between the two observations as a proposed
missing object, unless that box lies mostly outside the image, or inside DontCare where the track's
own labels were not (KITTI annotators do label some objects inside DontCare regions: then a gap there
is still a gap, only weaker).

KITTI may leave a track unlabelled where its object is fully hidden (behind a passing van, a pillar);
such gaps last several frames and border labels marked largely occluded. Sequence 0016 has no gap at
all (28 tracks, 3,135 labels, every track contiguous), although 8.8 % of its labels are 99 % covered by
the boxes of nearer labels (42 % of them at least 70 % by any other label): its annotators labelled
through the crowd. So the evidence weakens with the gap's length and when the neighbouring labels are
marked occluded, and only a little when nearer labels cover the proposed box (box coverage is a weak
sign of being hidden).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, missing_finding, ramp
from gtqa.checks.scope import ReviewScope
from gtqa.checks.temporal._tracks import (
    SequenceTracks,
    TemporalParams,
    Track,
    inside_image,
    interpolate,
    sequence_tracks,
)
from gtqa.domain import CheckFamily, Finding, Frame, IssueType, Requirement
from gtqa.domain.boxes import union_coverage
from gtqa.domain.geometry import FloatArray


class Params(TemporalParams):
    max_gap: int = Field(default=8, ge=1, description="longest run of missing frames proposed")
    gap_decay: float = Field(default=0.12, ge=0, description="raw lost per missing frame beyond the first")
    max_dontcare: float = Field(default=0.5, ge=0, le=1, description="share in DontCare that excuses a gap")
    dontcare_factor: float = Field(
        default=0.6, ge=0, le=1, description="x raw when the track was labelled inside DontCare anyway"
    )
    min_inside: float = Field(default=0.5, ge=0, le=1, description="skip unless this share is in the image")
    occluded_factor: float = Field(default=0.6, ge=0, le=1, description="x raw if a neighbour is occl. 2")
    partly_occluded_factor: float = Field(default=0.9, ge=0, le=1, description="x raw if occlusion 1")
    cover_start: float = Field(default=0.7, ge=0, le=1, description="coverage by nearer labels that weakens")
    cover_full: float = Field(default=1.0, ge=0, le=1, description="... down to cover_floor at this cover")
    cover_floor: float = Field(default=0.7, ge=0, le=1, description="x raw when nearer labels cover it all")


@dataclass(frozen=True)
class _Gap:
    track: Track
    first: int  # position of the observation before the gap
    t1: int
    t2: int
    occlusion: int  # the larger of the two neighbours' (unknown counts as 0: not evidence of occlusion)
    base: float  # raw before what the gap frame itself says
    ends_in_dontcare: bool  # both neighbours lie mostly inside DontCare (labelled there anyway)


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    max_gap = min(params.max_gap, params.window - 1)
    out: list[Finding] = []
    for seq in sequence_tracks(scope):
        for track in seq.tracks.values():
            steps = np.diff(track.index)
            for i in np.flatnonzero((steps > 1) & (steps <= max_gap + 1)):
                gap = _describe(scope, seq, track, int(i), params)
                for t in range(gap.t1 + 1, gap.t2):
                    finding = _propose(scope, seq, gap, t, params) if t in seq.reported else None
                    out += [finding] if finding is not None else []
    return out


def _describe(scope: ReviewScope, seq: SequenceTracks, track: Track, i: int, params: Params) -> _Gap:
    t1, t2 = int(track.index[i]), int(track.index[i + 1])
    a, b = track.labels[i], track.labels[i + 1]
    occ = max(a.occlusion or 0, b.occlusion or 0)
    factor = {0: 1.0, 1: params.partly_occluded_factor}.get(occ, params.occluded_factor)
    base = max(0.0, 1.0 - params.gap_decay * (t2 - t1 - 2)) * factor
    in_dc = [_in_dontcare(scope, seq.frames[t], track.boxes[j]) for t, j in ((t1, i), (t2, i + 1))]
    return _Gap(track, i, t1, t2, occ, base, min(in_dc) >= params.max_dontcare)


def _in_dontcare(scope: ReviewScope, frame: Frame, box: FloatArray) -> float:
    dontcare = np.array([d.box.as_list() for d in scope.dontcare(frame)]).reshape(-1, 4)
    return float(union_coverage(box[None, :], dontcare)[0])


def _covered_by_nearer(scope: ReviewScope, frame: Frame, gap: _Gap, box: FloatArray) -> float:
    """Share of the proposed box covered by labels in front of it: a nearer cuboid when both have one
    (the track's depth from its neighbours), else a lower bottom edge."""
    a, b = gap.track.labels[gap.first].cuboid, gap.track.labels[gap.first + 1].cuboid
    depth = (a.z + b.z) / 2 if a is not None and b is not None else None
    nearer = [
        lab.box.as_list()
        for _, lab in scope.reviewed(frame)
        if (lab.cuboid.z < depth if depth is not None and lab.cuboid is not None else lab.box.y2 > box[3])
    ]
    return float(union_coverage(box[None, :], np.array(nearer).reshape(-1, 4))[0])


def _propose(scope: ReviewScope, seq: SequenceTracks, gap: _Gap, t: int, params: Params) -> Finding | None:
    frame = seq.frames[t]
    box = interpolate(gap.track.boxes[gap.first], gap.t1, gap.track.boxes[gap.first + 1], gap.t2, t)
    in_dc = _in_dontcare(scope, frame, box)
    inside = float(inside_image(box[None, :], scope.image_size(frame))[0])
    # Inside DontCare an object need not be labelled, unless its track was labelled there anyway.
    if (in_dc >= params.max_dontcare and not gap.ends_in_dontcare) or inside < params.min_inside:
        return None
    covered = _covered_by_nearer(scope, frame, gap, box)
    hidden = float(ramp(covered, params.cover_start, params.cover_full))
    raw = gap.base * (1.0 - (1.0 - params.cover_floor) * hidden)
    raw *= params.dontcare_factor if in_dc >= params.max_dontcare else 1.0
    if raw <= 0:
        return None
    return missing_finding(
        frame.id,
        (float(box[0]), float(box[1]), float(box[2]), float(box[3])),
        raw,
        CHECK.id,
        f"{gap.track.labels[gap.first].cls} track {gap.track.id} is labelled in frames {gap.t1} and "
        f"{gap.t2} but not in frame {t} (gap of {gap.t2 - gap.t1 - 1}); box interpolated between them"
        + (f", {covered:.0%} covered by nearer labels" if covered >= params.cover_start else "")
        + (f", {in_dc:.0%} inside DontCare" if in_dc >= params.max_dontcare else ""),
        params,
        features={
            "gap": gap.t2 - gap.t1 - 1,
            "neighbour_occlusion": gap.occlusion,
            "covered_by_nearer": covered,
            "in_dontcare": in_dc,
            "inside_image": inside,
            "height_px": float(box[3] - box[1]),
        },
        rule_ids=("dontcare",),
        cls=gap.track.labels[gap.first].cls,
        track=gap.track.id,
    )


CHECK = Check(
    id="track_gap",
    fn=check,
    params=Params,
    issue_types=(IssueType.missing_object,),
    family=CheckFamily.temporal,
    description="frames inside a track where its object has no label (interpolated box proposed)",
    requires=frozenset({Requirement.tracks, Requirement.sequences}),
)
