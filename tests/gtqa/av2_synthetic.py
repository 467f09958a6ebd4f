"""A small synthetic Argoverse 2 log, written on demand for the format's and the LiDAR checks' tests
(importable from tests under tests/gtqa: their conftest.py puts this folder on the path)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather

LOG = "log0"
T0 = 315_966_000_000_000_000
DT_NS = 100_000_000  # 10 Hz
GROUND_Z = 0.0


@dataclass
class Cuboid:
    track: str
    category: str
    x: float  # city = ego frame here (identity poses), centre
    y: float
    length: float
    width: float
    height: float
    yaw: float = 0.0
    z: float | None = None  # centre height; default: resting on the ground
    points: int = 50


@dataclass
class SyntheticLog:
    """Sweeps of cuboids; ``rows[s]`` the cuboids of sweep ``s``. Poses are identity (ego = city)."""

    rows: list[list[Cuboid]]
    sweeps: dict[int, np.ndarray] = field(default_factory=dict)  # sweep -> (N, 3) points
    poses: bool = True
    ground: bool = True


def moving_scene(n: int = 12) -> list[list[Cuboid]]:
    """A car driving along x at 10 m/s, a pedestrian walking along y at 1.4 m/s, a bollard."""
    return [
        [
            Cuboid("car", "REGULAR_VEHICLE", 10 + 1.0 * s, 0.0, 4.1, 1.9, 1.7),
            Cuboid("ped", "PEDESTRIAN", 5.0, -8 + 0.14 * s, 0.6, 0.7, 1.7, yaw=np.pi / 2),
            Cuboid("bollard", "BOLLARD", 3.0, 4.0, 0.25, 0.21, 0.97),
        ]
        for s in range(n)
    ]


def write_log(root: Path, log: SyntheticLog) -> Path:
    folder = root / LOG
    folder.mkdir(parents=True, exist_ok=True)
    recs = [(T0 + s * DT_NS, c) for s, cubs in enumerate(log.rows) for c in cubs]
    half = np.array([c.yaw for _, c in recs]) / 2
    table = {
        "timestamp_ns": pa.array([t for t, _ in recs], pa.int64()),
        "track_uuid": pa.array([c.track for _, c in recs], pa.string()),
        "category": pa.array([c.category for _, c in recs], pa.string()),
        "length_m": [c.length for _, c in recs],
        "width_m": [c.width for _, c in recs],
        "height_m": [c.height for _, c in recs],
        "qw": np.cos(half),
        "qx": np.zeros(len(recs)),
        "qy": np.zeros(len(recs)),
        "qz": np.sin(half),
        "tx_m": [c.x for _, c in recs],
        "ty_m": [c.y for _, c in recs],
        "tz_m": [GROUND_Z + c.height / 2 if c.z is None else c.z for _, c in recs],
        "num_interior_pts": pa.array([c.points for _, c in recs], pa.int64()),
    }
    feather.write_feather(pa.table(table), folder / "annotations.feather")
    if log.poses:
        n = len(log.rows)
        poses = {"timestamp_ns": pa.array([T0 + s * DT_NS for s in range(n)], pa.int64()), "qw": np.ones(n)}
        poses |= {k: np.zeros(n) for k in ("qx", "qy", "qz", "tx_m", "ty_m", "tz_m")}
        feather.write_feather(pa.table(poses), folder / "city_SE3_egovehicle.feather")
    if log.ground:
        (folder / "map").mkdir(exist_ok=True)
        np.save(
            folder / "map" / f"{LOG}_ground_height_surface____X.npy",
            np.full((400, 400), GROUND_Z, np.float16),
        )
        sim = {"R": [1.0, 0.0, 0.0, 1.0], "t": [100.0, 100.0], "s": 2.0}
        (folder / "map" / f"{LOG}___img_Sim2_city.json").write_text(json.dumps(sim))
    lidar = folder / "sensors" / "lidar"
    for s, pts in log.sweeps.items():
        lidar.mkdir(parents=True, exist_ok=True)
        cols = {"x": pts[:, 0], "y": pts[:, 1], "z": pts[:, 2]}
        feather.write_feather(
            pa.table({k: pa.array(v.astype(np.float16)) for k, v in cols.items()}),
            lidar / f"{T0 + s * DT_NS}.feather",
        )
    return folder
