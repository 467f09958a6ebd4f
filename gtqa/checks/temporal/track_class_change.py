"""A label whose class differs from the class its track has in the surrounding frames.

One physical object keeps its class (spec, "Tracks"); in KITTI 0016 every one of the 28 tracks keeps
one class over all its frames. The track's majority class is counted over the other observations within
``window`` frames; a label of another class is flagged, strongest when the others agree unanimously and
the label is an isolated flip. A run of several consecutive labels in the new class is weaker evidence
(a person getting onto a bicycle really does change from Pedestrian to Cyclist).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from gtqa.checks.base import Check, ramp
from gtqa.checks.scope import ReviewScope
from gtqa.checks.temporal._tracks import TemporalParams, Track, sequence_tracks
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement


class Params(TemporalParams):
    min_others: int = Field(default=3, ge=1, description="other observations needed to judge")
    share_start: float = Field(default=0.5, ge=0, le=1, description="majority share giving no evidence")
    share_full: float = Field(default=0.9, ge=0, le=1, description="majority share giving full evidence")
    run_decay: float = Field(default=0.25, ge=0, description="raw lost per extra label in the run")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for seq in sequence_tracks(scope):
        for track, i in seq.reported_labels():
            finding = _judge(track, i, params)
            if finding is not None:
                out.append(finding)
    return out


def _judge(track: Track, i: int, params: Params) -> Finding | None:
    label = track.labels[i]
    near = track.near(int(track.index[i]), params.window)
    near[i] = False
    counts = Counter(track.labels[j].cls for j in near.nonzero()[0])
    n = sum(counts.values())
    if n < params.min_others:
        return None
    majority, votes = counts.most_common(1)[0]
    if majority == label.cls:
        return None
    share = votes / n
    run = _run_length(track, i, near)
    raw = float(ramp(share, params.share_start, params.share_full)) * max(
        0.0, 1.0 - params.run_decay * (run - 1)
    )
    if raw <= 0:
        return None
    return CHECK.flag(
        label,
        raw,
        f"{label.cls} in a track that is {majority} in {votes} of its {n} other labels within "
        f"{params.window} frames" + (f" ({run} consecutive {label.cls} labels)" if run > 1 else ""),
        params,
        features={"majority_share": share, "others": n, "run": run, "classes": len(counts)},
    )


def _run_length(track: Track, i: int, near: NDArray[np.bool_]) -> int:
    """Consecutive observations around ``i`` (within the window) sharing its class."""
    cls = track.labels[i].cls
    lo = hi = i
    while lo > 0 and bool(near[lo - 1]) and track.labels[lo - 1].cls == cls:
        lo -= 1
    while hi < len(track.labels) - 1 and bool(near[hi + 1]) and track.labels[hi + 1].cls == cls:
        hi += 1
    return hi - lo + 1


CHECK = Check(
    id="track_class_change",
    fn=check,
    params=Params,
    issue_types=(IssueType.wrong_class,),
    family=CheckFamily.temporal,
    description="a label whose class differs from its track's majority class",
    requires=frozenset({Requirement.tracks, Requirement.sequences}),
)
