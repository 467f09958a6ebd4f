"""What the LiDAR checks share: a scope's LiDAR labels per frame and per track in the city frame, the
class groups AV2's taxonomy falls into (their evidence ramps with ``gtqa.checks.base.ramp``).

Windowing follows the temporal checks (``gtqa.checks.temporal._tracks``): a check reports only on labels
of scope frames and judges a label at frame index ``t`` from observations within ``CONTEXT_FRAMES``.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gtqa.checks.scope import CONTEXT_FRAMES, ReviewScope
from gtqa.domain import Frame, Label
from gtqa.domain.geometry import FloatArray
from gtqa.domain.lidar import LidarCuboids, is_lidar, lidar_cuboids

# AV2 classes that never move on their own: a track of one that travels is a mislabel or an id mix-up.
STATIC_CLASSES = frozenset(
    {
        "BOLLARD",
        "CONSTRUCTION_CONE",
        "CONSTRUCTION_BARREL",
        "SIGN",
        "STOP_SIGN",
        "MOBILE_PEDESTRIAN_CROSSING_SIGN",
        "MESSAGE_BOARD_TRAILER",
        "TRAFFIC_LIGHT_TRAILER",
    }
)
# Classes whose shape changes (people walk, riders lean, dogs run): their dimensions may vary.
NON_RIGID_CLASSES = frozenset(
    {
        "PEDESTRIAN",
        "OFFICIAL_SIGNALER",
        "DOG",
        "ANIMAL",
        "BICYCLIST",
        "MOTORCYCLIST",
        "WHEELED_RIDER",
        "WHEELCHAIR",
        "STROLLER",
    }
)


def lidar_labels(scope: ReviewScope, frame: Frame) -> list[Label]:
    """The frame's reviewed LiDAR labels."""
    return [lab for _, lab in scope.reviewed(frame) if is_lidar(lab)]


@dataclass(frozen=True)
class WorldTrack:
    """One track's observations in frame order (one per frame), with city-frame arrays."""

    id: int
    cls: str  # the track's most common class
    index: NDArray[np.int64]
    cub: LidarCuboids
    in_scope: NDArray[np.bool_]

    def near(self) -> NDArray[np.bool_]:
        """(n, n) mask: observation j may serve as evidence about observation i."""
        return np.asarray(np.abs(self.index[:, None] - self.index[None, :]) <= CONTEXT_FRAMES)


# The last scope's tracks: the LiDAR checks of one scope run one after another and share them.
_last: tuple[weakref.ref[ReviewScope], list[WorldTrack]] | None = None


def world_tracks(scope: ReviewScope) -> list[WorldTrack]:
    """Tracks of LiDAR labels with a city position, per sequence, reaching into the scope."""
    global _last
    if _last is not None and _last[0]() is scope:
        return _last[1]
    tracks = _world_tracks(scope)
    _last = (weakref.ref(scope), tracks)
    return tracks


def _world_tracks(scope: ReviewScope) -> list[WorldTrack]:
    groups: dict[tuple[str, int], dict[int, Label]] = defaultdict(dict)
    for seq, frames in scope.sequences.items():
        for frame in frames:
            for label in lidar_labels(scope, frame):
                if label.track_id is not None and "city_x" in label.attributes:
                    groups[(seq, label.track_id)].setdefault(frame.index, label)
    out = []
    for (_, track), by_index in groups.items():
        index = np.array(sorted(by_index), dtype=np.int64)
        labels = [by_index[int(i)] for i in index]
        in_scope = np.array([lab.frame in scope.frame_ids for lab in labels])
        if in_scope.any():
            classes = [lab.cls for lab in labels]
            cls = max(set(classes), key=classes.count)
            out.append(WorldTrack(track, cls, index, lidar_cuboids(labels), in_scope))
    return out


def windowed_median(values: FloatArray, near: NDArray[np.bool_]) -> FloatArray:
    """Per observation, the median of ``values`` (n, k) over the observations ``near`` it."""
    masked = np.sort(np.where(near[:, :, None], values[None, :, :], np.inf), axis=1)  # inf sorts last
    count = near.sum(axis=1)
    lo = np.take_along_axis(masked, ((count - 1) // 2)[:, None, None].repeat(values.shape[1], 2), axis=1)
    hi = np.take_along_axis(masked, (count // 2)[:, None, None].repeat(values.shape[1], 2), axis=1)
    return np.asarray((lo[:, 0] + hi[:, 0]) / 2, dtype=np.float64)
