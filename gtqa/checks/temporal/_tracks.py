"""Tracks of a sequence as arrays, and the windowing rule every temporal check follows.

A temporal check reports only on frames of its scope, and judges a label at frame index ``t`` from
labels of frames within ``window`` (<= ``CONTEXT_FRAMES``) of ``t`` only. The runner passes that much
context around every chunk, so a finding is the same whichever chunk its frame falls in.

Only reviewed labels (not DontCare) with a track id belong to tracks. When one track id occurs twice in
one frame (itself a defect, reported by ``track_id_switch``), the first label in the file is the track's
observation and the others are kept in ``SequenceTracks.repeats``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from gtqa.checks.base import CheckParams
from gtqa.checks.scope import CONTEXT_FRAMES, ReviewScope
from gtqa.domain import Frame, Label
from gtqa.domain.geometry import FloatArray

IntArray = NDArray[np.int64]


class TemporalParams(CheckParams):
    window: int = Field(
        default=CONTEXT_FRAMES,
        ge=1,
        le=CONTEXT_FRAMES,
        description="frames either side of a label that may serve as its evidence",
    )


@dataclass(frozen=True)
class Track:
    """One track id's observations in a sequence, ordered by frame index (one per frame)."""

    id: int
    index: IntArray  # frame indices, strictly increasing
    labels: tuple[Label, ...]
    boxes: FloatArray  # (n, 4) image pixels

    def near(self, t: int, k: int) -> NDArray[np.bool_]:
        """Mask of the observations within ``k`` frames of frame index ``t``."""
        return np.asarray(np.abs(self.index - t) <= k)

    def position(self, t: int) -> int | None:
        """Position of the observation at frame index ``t``, or None."""
        i = int(np.searchsorted(self.index, t))
        return i if i < len(self.index) and self.index[i] == t else None


@dataclass(frozen=True)
class SequenceTracks:
    sequence: str
    frames: dict[int, Frame]  # every frame of scope and context, by index
    reported: frozenset[int]  # indices of the frames in the scope (the ones checks report on)
    tracks: dict[int, Track]
    # (frame index, repeated label, the first label of that id in the frame)
    repeats: list[tuple[int, Label, Label]] = field(default_factory=list)

    @property
    def first(self) -> int:
        return min(self.frames)

    @property
    def last(self) -> int:
        return max(self.frames)

    def span(self, t: int, k: int) -> tuple[int, int]:
        """The frame indices available within ``k`` of ``t``: the same whatever the chunking, since the
        runner passes at least ``CONTEXT_FRAMES`` of context."""
        return max(self.first, t - k), min(self.last, t + k)

    def reported_labels(self) -> list[tuple[Track, int]]:
        """(track, position) of every track observation on a reported frame."""
        return [
            (track, int(i))
            for track in self.tracks.values()
            for i in np.flatnonzero(np.isin(track.index, list(self.reported)))
        ]


def sequence_tracks(scope: ReviewScope) -> list[SequenceTracks]:
    """The tracks of every sequence that has a frame in the scope."""
    out: list[SequenceTracks] = []
    for seq, frames in scope.sequences.items():
        reported = frozenset(f.index for f in frames if f.id in scope.frame_ids)
        if reported:
            out.append(_build(scope, seq, frames, reported))
    return out


def _build(scope: ReviewScope, seq: str, frames: list[Frame], reported: frozenset[int]) -> SequenceTracks:
    obs: dict[int, list[tuple[int, Label]]] = defaultdict(list)
    repeats: list[tuple[int, Label, Label]] = []
    for frame in frames:
        seen: dict[int, Label] = {}
        for _, label in scope.reviewed(frame):
            if label.track_id is None:
                continue
            if label.track_id in seen:
                repeats.append((frame.index, label, seen[label.track_id]))
                continue
            seen[label.track_id] = label
            obs[label.track_id].append((frame.index, label))
    tracks = {tid: _track(tid, items) for tid, items in sorted(obs.items())}
    return SequenceTracks(seq, {f.index: f for f in frames}, reported, tracks, repeats)


def _track(tid: int, items: list[tuple[int, Label]]) -> Track:
    labels = tuple(lab for _, lab in items)
    boxes = np.array([lab.box.as_list() for lab in labels], dtype=np.float64).reshape(-1, 4)
    return Track(tid, np.array([i for i, _ in items], dtype=np.int64), labels, boxes)


def interpolate(box_a: FloatArray, t_a: int, box_b: FloatArray, t_b: int, t: int) -> FloatArray:
    """Linear interpolation (or extrapolation) of a box between two observations."""
    w = (t - t_a) / (t_b - t_a)
    return np.asarray(box_a + w * (box_b - box_a), dtype=np.float64)


def inside_image(boxes: FloatArray, size: tuple[int, int] | None) -> FloatArray:
    """Share of each box's area inside the image (1.0 when the size is unknown)."""
    if size is None or len(boxes) == 0:
        return np.ones(len(boxes))
    w, h = size
    cw = np.clip(np.minimum(boxes[:, 2], w) - np.maximum(boxes[:, 0], 0), 0, None)
    ch = np.clip(np.minimum(boxes[:, 3], h) - np.maximum(boxes[:, 1], 0), 0, None)
    area = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.where(area > 0, cw * ch / area, 0.0), dtype=np.float64)
