"""LiDAR cuboids (Argoverse 2 style), carried in a label's free attributes, as numpy arrays.

A LiDAR-annotated label (``gtqa.formats.av2``) keeps its source row in ``Label.attributes`` under the
source's own column names, so it is stored, served and written back without a new table:

* **ego frame** of its sweep (metres; x forwards, y left, z up): ``tx_m, ty_m, tz_m`` is the cuboid's
  *centre*, ``length_m`` along its heading, ``width_m`` across, ``height_m`` up; ``qw, qx, qy, qz`` its
  rotation (a yaw in practice); ``num_interior_pts`` the LiDAR points the source counted inside it;
* **city frame** (metres; the log's fixed world frame, z up), derived by the reader from the ego pose
  of the sweep: ``city_x, city_y, city_z`` (centre), ``city_yaw`` (radians, heading of the length
  axis), the ego pose ``ego_x, ego_y, ego_yaw``, and ``ground_z`` (the ground height under the centre,
  when the log has a ground raster that covers it);
* ``sweep``: path of the sweep's point file when the log has it; ``timestamp_ns``: the sweep's time.

``Label.box`` of such a label is its bird's-eye footprint as an axis-aligned box in the ego frame, in
metres ``[x_min, y_min, x_max, y_max]`` (not pixels: there is no image).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gtqa.domain.geometry import FloatArray
from gtqa.domain.labels import Label

# Marks a label as a LiDAR cuboid (the key every such label has).
LIDAR_KEY = "num_interior_pts"
SWEEP_KEY = "sweep"
_FIELDS = (
    "tx_m",
    "ty_m",
    "tz_m",
    "length_m",
    "width_m",
    "height_m",
    "yaw",
    "city_x",
    "city_y",
    "city_z",
    "city_yaw",
    "timestamp_ns",
    "num_interior_pts",
)


def is_lidar(label: Label) -> bool:
    return LIDAR_KEY in label.attributes


def _num(label: Label, key: str) -> float:
    value = label.attributes.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else np.nan


@dataclass(frozen=True)
class LidarCuboids:
    """Fields of N LiDAR labels as arrays (NaN where a label lacks one). ``centre`` (N, 3) and ``yaw``
    are in the ego frame; ``city`` (N, 3) and ``city_yaw`` in the city frame; ``dims`` (N, 3) is
    length, width, height in metres; ``time_s`` the sweep time in seconds; ``ground_z`` city-frame."""

    labels: tuple[Label, ...]
    centre: FloatArray
    dims: FloatArray
    yaw: FloatArray
    city: FloatArray
    city_yaw: FloatArray
    time_s: FloatArray
    interior: FloatArray
    ground_z: FloatArray

    def __len__(self) -> int:
        return len(self.labels)


def lidar_cuboids(labels: Sequence[Label]) -> LidarCuboids:
    """The LiDAR fields of ``labels`` (all of them, in order) as arrays."""
    labs = tuple(labels)
    table = _table(labs).reshape(len(labs), len(_FIELDS) + 1)
    return LidarCuboids(
        labels=labs,
        centre=table[:, 0:3],
        dims=table[:, 3:6],
        yaw=table[:, 6],
        city=table[:, 7:10],
        city_yaw=table[:, 10],
        time_s=table[:, 11] * 1e-9,
        interior=table[:, 12],
        ground_z=table[:, 13],
    )


def _table(labels: tuple[Label, ...]) -> FloatArray:
    """The numeric fields (and ground_z) of every label; a non-number anywhere reads as NaN there."""
    keys = (*_FIELDS, "ground_z")
    rows = [[lab.attributes.get(k, np.nan) for k in keys] for lab in labels]
    try:
        return np.array(rows, dtype=np.float64)
    except (TypeError, ValueError):  # a text where a number belongs: the slow, careful path
        return np.array([[_num(lab, k) for k in keys] for lab in labels], dtype=np.float64)


def wrap_angle(a: FloatArray) -> FloatArray:
    """Angles wrapped to [-pi, pi)."""
    return np.asarray((a + np.pi) % (2 * np.pi) - np.pi, dtype=np.float64)


def yaw_of(qw: FloatArray, qx: FloatArray, qy: FloatArray, qz: FloatArray) -> FloatArray:
    """Heading (rotation about z, radians) of unit quaternions (w, x, y, z)."""
    return np.asarray(np.arctan2(2 * (qw * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz)), dtype=np.float64)


def points_in_boxes(
    points: FloatArray,
    centre: FloatArray,
    dims: FloatArray,
    yaw: FloatArray,
    pairs: tuple[NDArray[np.int64], NDArray[np.int64]],
) -> FloatArray:
    """Coordinates of candidate (box, point) pairs in each box's own frame, divided by its half sizes:
    (P, 3) with |u| <= 1 on every axis inside the box. ``pairs`` = (box index, point index) arrays."""
    box, pt = pairs
    d = points[pt] - centre[box]
    c, s = np.cos(yaw[box]), np.sin(yaw[box])
    local = np.stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1], d[:, 2]], axis=1)
    return np.asarray(local / (dims[box] / 2), dtype=np.float64)


__all__ = [
    "LIDAR_KEY",
    "SWEEP_KEY",
    "LidarCuboids",
    "is_lidar",
    "lidar_cuboids",
    "points_in_boxes",
    "wrap_angle",
    "yaw_of",
]
