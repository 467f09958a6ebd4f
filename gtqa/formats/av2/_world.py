"""The ego poses (city_SE3_egovehicle) and the ground-height raster of an AV2 log.

City frame: the log's fixed world frame, metres, z up. A pose maps ego-frame points into it:
``p_city = R(q) p_ego + t``. The ground raster is a float grid of ground heights (city z) with a
``Sim(2)`` from city xy to raster pixels: ``pixel = s * (R xy + t)``, column = pixel x, row = pixel y
(as the av2 package reads it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gtqa.domain import InputProblem
from gtqa.domain.geometry import FloatArray
from gtqa.domain.lidar import yaw_of
from gtqa.formats.av2._tables import POSE_COLUMNS, floats, ints, table_or_problem, warning


@dataclass(frozen=True)
class Poses:
    """Ego poses by timestamp: rotation matrices (N, 3, 3), translations (N, 3), yaws (N,)."""

    index: dict[int, int]
    rotation: FloatArray
    translation: FloatArray
    yaw: FloatArray

    def lookup(self, stamps: np.ndarray) -> np.ndarray:
        """Row of each timestamp's pose, -1 where the log has none."""
        return np.array([self.index.get(int(s), -1) for s in stamps], dtype=np.int64)


def read_poses(path: Path, problems: list[InputProblem]) -> Poses | None:
    table = table_or_problem(path, POSE_COLUMNS, problems)
    if table is None:
        return None
    q = np.stack([floats(table, c) for c in ("qw", "qx", "qy", "qz")], axis=1)
    t = np.stack([floats(table, c) for c in ("tx_m", "ty_m", "tz_m")], axis=1)
    ok = np.isfinite(q).all(axis=1) & np.isfinite(t).all(axis=1) & (np.linalg.norm(q, axis=1) > 0.5)
    for row in np.flatnonzero(~ok)[:20]:
        problems.append(
            InputProblem(path=str(path), line=int(row) + 1, message="pose with NaN/invalid quaternion")
        )
    stamps = ints(table, "timestamp_ns")
    q = q / np.where(ok, np.linalg.norm(q, axis=1), 1.0)[:, None]
    index = {int(s): i for i, s in enumerate(stamps) if ok[i]}
    return Poses(index=index, rotation=rotation_matrices(q), translation=t, yaw=yaw_of(*q.T))


def rotation_matrices(q: FloatArray) -> FloatArray:
    """(N, 3, 3) rotation matrices of unit quaternions (N, 4) in (w, x, y, z) order."""
    w, x, y, z = q.T
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=-1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=-1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1),
        ],
        axis=1,
    )


@dataclass(frozen=True)
class GroundRaster:
    heights: FloatArray  # (rows, cols) city z, NaN where unknown
    rotation: FloatArray  # (2, 2)
    translation: FloatArray  # (2,)
    scale: float

    def height_at(self, xy: FloatArray) -> FloatArray:
        """Ground height (city z) under city points (N, 2); NaN outside the raster."""
        finite = np.asarray(np.isfinite(xy).all(axis=1), dtype=bool)
        safe = np.where(finite[:, None], xy, 0.0)
        px = np.rint(self.scale * (safe @ self.rotation.T + self.translation)).astype(np.int64)
        rows, cols = self.heights.shape
        inside = finite & (px[:, 0] >= 0) & (px[:, 0] < cols) & (px[:, 1] >= 0) & (px[:, 1] < rows)
        out = np.full(len(xy), np.nan)
        out[inside] = self.heights[px[inside, 1], px[inside, 0]]
        return out


def read_ground(map_dir: Path, problems: list[InputProblem]) -> GroundRaster | None:
    """The log's ground raster, or None (a warning when the map folder holds a broken one)."""
    rasters = sorted(map_dir.glob("*ground_height_surface*.npy"))
    sims = sorted(map_dir.glob("*img_Sim2_city.json"))
    if not rasters or not sims:
        return None
    try:
        heights = np.asarray(np.load(rasters[0], allow_pickle=False), dtype=np.float64)
        sim = json.loads(sims[0].read_text(encoding="utf-8"))
        rot = np.asarray(sim["R"], dtype=np.float64).reshape(2, 2)
        return GroundRaster(heights, rot, np.asarray(sim["t"], dtype=np.float64), float(sim["s"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(warning(rasters[0], f"ground raster unusable, ground check skipped: {exc}"))
        return None
