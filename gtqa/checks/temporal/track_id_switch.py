"""Broken, switched or reused track identities.

(a) **Reused**: one track id on two labels of one frame; the later label in the file is flagged.
(b) **Broken**: a track ends and, within ``max_break`` frames, a new track of the same class starts where
    the old one would be (IoU of the first new box with the old track's box extrapolated at constant
    velocity); the first label of the new track is flagged.
(c) **Switched**: a label sits far from where its own track was heading but where another track was
    heading (both extrapolated from their last observations before the frame): the label probably
    carries the other object's id. Only the frame where the switch happens shows it.

KITTI 0016 has none of these: no id repeats in a frame, and no track starts where another ended (the
tracks that end leave the image or the crowd); tracks cross in the crowd of pedestrians, which is why
(c) asks for the label to be far from its own track (IoU below ``own_max``), not merely near another.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from gtqa.checks.base import Check, ramp
from gtqa.checks.scope import ReviewScope
from gtqa.checks.temporal._tracks import SequenceTracks, TemporalParams, Track, sequence_tracks
from gtqa.domain import CheckFamily, Finding, IssueType, Requirement
from gtqa.domain.boxes import iou_matrix
from gtqa.domain.geometry import FloatArray


class Params(TemporalParams):
    max_break: int = Field(default=5, ge=1, description="frames between an end and a start judged (b)")
    fit_frames: int = Field(default=4, ge=1, description="last frames of a track its velocity is fit on")
    break_iou_start: float = Field(default=0.3, ge=0, le=1, description="(b) IoU giving no evidence")
    break_iou_full: float = Field(default=0.7, ge=0, le=1, description="(b) IoU giving full evidence")
    break_decay: float = Field(default=0.1, ge=0, description="(b) raw lost per frame of break past 1")
    max_step: int = Field(default=3, ge=1, description="(c) how far back the last observation may be")
    own_max: float = Field(default=0.3, ge=0, le=1, description="(c) IoU with own track's prediction")
    other_start: float = Field(default=0.5, ge=0, le=1, description="(c) IoU with the other's, no evidence")
    other_full: float = Field(default=0.8, ge=0, le=1, description="(c) ... full evidence")


def check(scope: ReviewScope, params: Params) -> list[Finding]:
    out: list[Finding] = []
    for seq in sequence_tracks(scope):
        out.extend(_reused(seq, params))
        out.extend(_broken(seq, params))
        out.extend(_switched(seq, params))
    return out


def _reused(seq: SequenceTracks, params: Params) -> list[Finding]:
    out = []
    for t, repeat, first in seq.repeats:
        if t in seq.reported:
            out.append(
                CHECK.flag(
                    repeat,
                    1.0,
                    f"track id {repeat.track_id} is used twice in this frame (also by {first.id})",
                    params,
                    features={"kind": 0.0},
                )
            )
    return out


def _broken(seq: SequenceTracks, params: Params) -> list[Finding]:
    out = []
    for new in seq.tracks.values():
        # A track "starts" at s when it has no observation in the window before s (what lies further
        # back is not evidence: it depends on how the sequence was chunked).
        starts = np.flatnonzero(np.diff(new.index, prepend=new.index[0] - params.window - 1) > params.window)
        for pos in starts:
            s = int(new.index[pos])
            if s in seq.reported:
                finding = _broken_finding(seq, new, int(pos), s, params)
                out += [finding] if finding is not None else []
    return out


def _broken_finding(seq: SequenceTracks, new: Track, pos: int, s: int, params: Params) -> Finding | None:
    best = _best_predecessor(seq, new, pos, s, params)
    if best is None:
        return None
    old, end, iou = best
    raw = float(ramp(iou, params.break_iou_start, params.break_iou_full))
    raw *= max(0.0, 1.0 - params.break_decay * (s - end - 1))
    if raw <= 0:
        return None
    label = new.labels[pos]
    return CHECK.flag(
        label,
        raw,
        f"track {new.id} starts {s - end} frame(s) after {label.cls} track {old.id} ends, where "
        f"that track was heading (IoU {iou:.2f}): probably one object with a broken id",
        params,
        features={"kind": 1.0, "iou": iou, "break_frames": s - end},
    )


def _best_predecessor(
    seq: SequenceTracks, new: Track, pos: int, s: int, params: Params
) -> tuple[Track, int, float] | None:
    """The ended track of the same class whose extrapolated box best overlaps the new track's first."""
    best: tuple[Track, int, float] | None = None
    first = new.boxes[pos][None, :]
    for old in seq.tracks.values():
        before = np.flatnonzero((old.index < s) & (old.index >= s - params.max_break))
        if old.id == new.id or len(before) == 0 or old.labels[before[-1]].cls != new.labels[pos].cls:
            continue
        if np.any((old.index >= s) & (old.index <= s + params.window)):
            continue  # the old track goes on: not ended
        last = int(before[-1])
        pred = _extrapolate(old, last, s, params.fit_frames)
        iou = float(iou_matrix(first, pred[None, :])[0, 0])
        if best is None or iou > best[2]:
            best = (old, int(old.index[last]), iou)
    return best


def _extrapolate(track: Track, last: int, t: int, fit_frames: int) -> FloatArray:
    """Constant-velocity prediction at ``t`` from the observations within ``fit_frames`` of ``last``."""
    idx = track.index
    use = np.flatnonzero((idx <= idx[last]) & (idx >= idx[last] - fit_frames))
    if len(use) < 2:
        return np.asarray(track.boxes[last], dtype=np.float64)
    x = idx[use].astype(np.float64)
    y = track.boxes[use]
    # The least-squares line (np.polyfit's, in closed form: polyfit costs ~0.3 ms a call, per label).
    dx = x - x.mean()
    slope = dx @ (y - y.mean(axis=0)) / (dx @ dx)
    return np.asarray(y.mean(axis=0) + slope * (t - x.mean()), dtype=np.float64)


def _switched(seq: SequenceTracks, params: Params) -> list[Finding]:
    out = []
    for t in sorted(seq.reported):
        ids, preds = _predictions(seq, t, params)
        here = [(tr, p) for tr in seq.tracks.values() if (p := tr.position(t)) is not None]
        if len(ids) < 2 or not here:
            continue
        boxes = np.array([tr.boxes[p] for tr, p in here])
        iou = iou_matrix(boxes, preds)
        col = {tid: j for j, tid in enumerate(ids)}
        for r, (track, pos) in enumerate(here):
            if track.id not in col:
                continue
            finding = _switch_finding(track, pos, iou[r], col[track.id], ids, params)
            if finding is not None:
                out.append(finding)
    return out


def _predictions(seq: SequenceTracks, t: int, params: Params) -> tuple[list[int], FloatArray]:
    ids, preds = [], []
    for track in seq.tracks.values():
        before = np.flatnonzero((track.index < t) & (track.index >= t - params.max_step))
        if len(before):
            ids.append(track.id)
            preds.append(_extrapolate(track, int(before[-1]), t, params.fit_frames))
    return ids, np.array(preds, dtype=np.float64).reshape(-1, 4)


def _switch_finding(
    track: Track, pos: int, ious: FloatArray, own: int, ids: list[int], params: Params
) -> Finding | None:
    own_iou = float(ious[own])
    if own_iou >= params.own_max:
        return None
    others = ious.copy()
    others[own] = -1.0
    j = int(np.argmax(others))
    raw = float(ramp(others[j], params.other_start, params.other_full))
    if raw <= 0:
        return None
    label = track.labels[pos]
    return CHECK.flag(
        label,
        raw,
        f"labelled track {track.id}, but it lies where track {ids[j]} was heading (IoU {others[j]:.2f}) "
        f"and far from where track {track.id} was heading (IoU {own_iou:.2f}): ids probably switched",
        params,
        features={"kind": 2.0, "iou_own": own_iou, "iou_other": float(others[j])},
    )


CHECK = Check(
    id="track_id_switch",
    fn=check,
    params=Params,
    issue_types=(IssueType.track_id,),
    family=CheckFamily.temporal,
    description="track ids reused in a frame, broken (a track ends and restarts) or switched",
    requires=frozenset({Requirement.tracks, Requirement.sequences}),
)
