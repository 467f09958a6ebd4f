"""An occlusion or truncation value that differs, for one frame, from the agreeing frames around it.

For each label, the previous and next observations of its track (within ``max_step`` frames) are looked
up; when those two agree on occlusion (or truncation) and the label differs from both, the value is an
isolated flip. Unknown values on any of the three never count (unknown is not a defect).

Real flips exist: in KITTI 0016, 17 of about 3,000 occlusion triples flip for one frame (mostly 1-0-1 as a
pedestrian passes in front), and no truncation does. So occlusion flips are weaker evidence than
truncation flips, a jump of two levels is stronger than one, and a flip the geometry explains is weaker:
the label's share covered by nearer labels changes the same way (occlusion), or the box touches the image
border in this frame only (truncation).
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check
from gtqa.checks.scope import ReviewScope
from gtqa.checks.temporal._tracks import SequenceTracks, TemporalParams, Track, sequence_tracks
from gtqa.domain import CheckFamily, Finding, Frame, IssueType, Label, Requirement
from gtqa.domain.boxes import union_coverage


class Params(TemporalParams):
    max_step: int = Field(default=3, ge=1, description="farthest previous/next observation, in frames")
    occlusion_one_level: float = Field(default=0.55, ge=0, le=1, description="raw of a one-level flip")
    occlusion_two_levels: float = Field(default=0.9, ge=0, le=1, description="raw of a two-level flip")
    truncation: float = Field(default=1.0, ge=0, le=1, description="raw of a truncation flip")
    explained_factor: float = Field(default=0.3, ge=0, le=1, description="x raw when geometry explains it")
    cover_change: float = Field(default=0.1, ge=0, le=1, description="coverage change that explains")
    border_px: float = Field(default=2.0, ge=0, description="a box this close to the border touches it")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for seq in sequence_tracks(scope):
        for track, i in seq.reported_labels():
            if i == 0 or i == len(track.index) - 1:
                continue
            t = int(track.index[i])
            if track.index[i - 1] < t - params.max_step or track.index[i + 1] > t + params.max_step:
                continue
            out.extend(_judge(scope, seq, track, i, params))
    return out


def _judge(scope: ReviewScope, seq: SequenceTracks, track: Track, i: int, params: Params) -> list[Finding]:
    prev, label, nxt = track.labels[i - 1], track.labels[i], track.labels[i + 1]
    out = []
    if _flipped(prev.occlusion, label.occlusion, nxt.occlusion):
        cover = [_cover(scope, seq.frames[int(track.index[j])], track.labels[j]) for j in (i - 1, i, i + 1)]
        change = cover[1] - (cover[0] + cover[2]) / 2
        direction = np.sign(float(label.occlusion or 0) - float(prev.occlusion or 0))
        explained = direction * change >= params.cover_change
        levels = abs(int(label.occlusion or 0) - int(prev.occlusion or 0))
        base = params.occlusion_two_levels if levels >= 2 else params.occlusion_one_level
        out.append(_finding(label, "occlusion", prev, nxt, base, explained, params, cover[1], change))
    if _flipped(prev.truncation, label.truncation, nxt.truncation):
        frames = [seq.frames[int(track.index[j])] for j in (i - 1, i, i + 1)]
        touch = [_touches(scope, f, lab, params) for f, lab in zip(frames, (prev, label, nxt), strict=True)]
        explained = touch[1] != touch[0] and touch[1] != touch[2]
        out.append(_finding(label, "truncation", prev, nxt, params.truncation, explained, params))
    return out


def _flipped(before: float | None, value: float | None, after: float | None) -> bool:
    return None not in (before, value, after) and before == after and value != before


def _finding(
    label: Label,
    attr: str,
    prev: Label,
    nxt: Label,
    base: float,
    explained: bool,
    params: Params,
    cover: float = 0.0,
    change: float = 0.0,
) -> Finding:
    raw = base * (params.explained_factor if explained else 1.0)
    value, around = getattr(label, attr), getattr(prev, attr)
    why = " (the geometry changes too, so it may be real)" if explained else ""
    return CHECK.flag(
        label,
        raw,
        f"{attr} {value:g} while the track's previous and next labels ({prev.id}, {nxt.id}) both say "
        f"{around:g}{why}",
        params,
        rule_ids=(attr,),
        features={
            "truncation": float(attr == "truncation"),
            "levels": float(abs(value - around) * (2 if attr == "truncation" else 1)),
            "explained": float(explained),
            "covered_by_nearer": cover,
            "cover_change": change,
        },
    )


def _cover(scope: ReviewScope, frame: Frame, label: Label) -> float:
    """Share of the label's box covered by labels in front of it (nearer cuboid, else lower box bottom)."""
    box = np.array([label.box.as_list()])
    nearer = [
        lab.box.as_list() for _, lab in scope.reviewed(frame) if lab.id != label.id and _in_front(lab, label)
    ]
    return float(union_coverage(box, np.array(nearer).reshape(-1, 4))[0])


def _in_front(a: Label, b: Label) -> bool:
    if a.cuboid is not None and b.cuboid is not None:
        return a.cuboid.z < b.cuboid.z
    return a.box.y2 > b.box.y2


def _touches(scope: ReviewScope, frame: Frame, label: Label, params: Params) -> bool:
    size = scope.image_size(frame)
    b = label.box
    if size is None:
        return False
    w, h = size
    m = params.border_px
    return b.x1 <= m or b.y1 <= m or b.x2 >= w - 1 - m or b.y2 >= h - 1 - m


CHECK = Check(
    id="attribute_flip",
    fn=check,
    params=Params,
    issue_types=(IssueType.attribute,),
    family=CheckFamily.temporal,
    description="occlusion or truncation differing for one frame from the agreeing frames around it",
    requires=frozenset({Requirement.tracks, Requirement.sequences}),
)
