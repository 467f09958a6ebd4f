"""Reading an Argoverse 2 sensor-dataset log (or a folder of logs) into frames of LiDAR cuboids.

Layout of a log folder ``<log_id>/``: ``annotations.feather`` (one cuboid per row, ego frame of its
sweep), ``city_SE3_egovehicle.feather`` (ego poses), ``sensors/lidar/<timestamp_ns>.feather`` (sweeps,
when present), ``map/`` (the ground-height raster and vector map, when present). Frame ids are
``<log>/<timestamp_ns>`` (index = the sweep's position in the log), label ids ``<log>:<row>`` (0-based
row of annotations.feather), track ids number the ``track_uuid``s in order of first appearance (the
uuid is kept in the attributes). What each attribute means: ``gtqa.domain.lidar``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from gtqa.domain import Box2D, Dataset, Frame, InputFormatError, InputProblem, Label, SourceRef
from gtqa.domain.geometry import FloatArray
from gtqa.domain.lidar import wrap_angle, yaw_of
from gtqa.formats.av2._tables import ANNOTATION_COLUMNS, floats, ints, table_or_problem, warning
from gtqa.formats.av2._world import GroundRaster, Poses, read_ground, read_poses

ANNOTATIONS = "annotations.feather"
POSES = "city_SE3_egovehicle.feather"
LIDAR_DIR = Path("sensors") / "lidar"
_MAX_ROW_PROBLEMS = 50  # a file of broken rows gets this many line problems, then one summary


def is_log(path: Path) -> bool:
    return (path / ANNOTATIONS).exists() or (path / POSES).exists() or (path / LIDAR_DIR).is_dir()


def log_dirs(root: Path) -> list[Path]:
    if is_log(root):
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and is_log(p)) if root.is_dir() else []


def read_av2(root: Path) -> Dataset:
    """Read one AV2 log folder, or a folder of log folders."""
    logs = log_dirs(root)
    if not logs:
        message = f"not an AV2 log: no {ANNOTATIONS}, {POSES} or {LIDAR_DIR}/ in it or its sub-folders"
        raise InputFormatError(str(root), 0, message)
    problems: list[InputProblem] = []
    frames = [f for log in logs for f in read_log(log, problems)]
    return Dataset(
        name=root.name, format="av2", root=str(root), frames=tuple(frames), problems=tuple(problems)
    )


@dataclass(frozen=True)
class _Rows:
    """annotations.feather as arrays; ``ok`` marks rows that become labels."""

    stamps: np.ndarray
    uuid: list[str]
    category: list[str]
    dims: FloatArray  # (N, 3) length, width, height
    quat: FloatArray  # (N, 4) w, x, y, z as written
    centre: FloatArray  # (N, 3) ego frame
    interior: np.ndarray
    ok: np.ndarray


def read_log(log: Path, problems: list[InputProblem]) -> list[Frame]:
    table = table_or_problem(log / ANNOTATIONS, ANNOTATION_COLUMNS, problems)
    rows = _rows(table, log / ANNOTATIONS, problems) if table is not None else None
    poses = read_poses(log / POSES, problems) if rows is not None else None
    sweeps = _sweeps(log)
    stamps = sorted(set(rows.stamps.tolist()) if rows is not None else set())
    for stamp in sorted(set(sweeps) - set(stamps)):
        problems.append(warning(sweeps[stamp], "sweep without annotations: its points are not reviewed"))
    if rows is None:
        return []
    labels = _labels(log, rows, poses, read_ground(log / "map", problems), sweeps, problems)
    by_stamp: dict[int, list[Label]] = {s: [] for s in stamps}
    for stamp, label in labels:
        by_stamp[stamp].append(label)
    return [
        Frame(id=f"{log.name}/{s}", sequence=log.name, index=i, labels=tuple(by_stamp[s]))
        for i, s in enumerate(stamps)
    ]


def _rows(table: pa.Table, path: Path, problems: list[InputProblem]) -> _Rows:
    dims = np.stack([floats(table, c) for c in ("length_m", "width_m", "height_m")], axis=1)
    quat = np.stack([floats(table, c) for c in ("qw", "qx", "qy", "qz")], axis=1)
    centre = np.stack([floats(table, c) for c in ("tx_m", "ty_m", "tz_m")], axis=1)
    stamps = ints(table, "timestamp_ns")
    norm = np.linalg.norm(quat, axis=1)
    ok = (
        np.isfinite(dims).all(axis=1)
        & (dims > 0).all(axis=1)
        & np.isfinite(quat).all(axis=1)
        & (norm > 0.5)
        & np.isfinite(centre).all(axis=1)
    )
    uuid = [str(u) for u in table.column("track_uuid").to_pylist()]
    category = [str(c) for c in table.column("category").to_pylist()]
    bad = np.flatnonzero(~ok)
    for row in bad[:_MAX_ROW_PROBLEMS]:
        message = "NaN or invalid quaternion, size or position: cuboid skipped"
        problems.append(InputProblem(path=str(path), line=int(row) + 1, message=message))
    if len(bad) > _MAX_ROW_PROBLEMS:
        problems.append(InputProblem(path=str(path), message=f"{len(bad)} cuboids skipped in all"))
    interior = ints(table, "num_interior_pts")
    return _Rows(stamps, uuid, category, dims, quat, centre, interior, ok)


def _sweeps(log: Path) -> dict[int, Path]:
    folder = log / LIDAR_DIR
    if not folder.is_dir():
        return {}
    return {int(p.stem): p for p in folder.glob("*.feather") if p.stem.isascii() and p.stem.isdigit()}


def _labels(
    log: Path,
    rows: _Rows,
    poses: Poses | None,
    ground: GroundRaster | None,
    sweeps: dict[int, Path],
    problems: list[InputProblem],
) -> list[tuple[int, Label]]:
    q = rows.quat / np.where(rows.ok, np.linalg.norm(rows.quat, axis=1), 1.0)[:, None]
    yaw = yaw_of(*q.T)
    world = _world(rows, yaw, poses, ground, log, problems)
    boxes = _footprints(rows.centre, rows.dims, yaw)
    tracks: dict[str, int] = {}
    out = []
    for row in np.flatnonzero(rows.ok):
        stamp = int(rows.stamps[row])
        uuid = rows.uuid[row]
        attributes = _raw(rows, int(row)) | {"yaw": float(yaw[row])} | world[row]
        if stamp in sweeps:
            attributes["sweep"] = str(sweeps[stamp])
        label = Label(
            id=f"{log.name}:{row}",
            frame=f"{log.name}/{stamp}",
            cls=rows.category[row],
            box=Box2D.from_seq(boxes[row]),
            track_id=tracks.setdefault(uuid, len(tracks)),
            attributes=attributes,
            source=SourceRef(path=str(log / ANNOTATIONS), line=int(row) + 1),
        )
        out.append((stamp, label))
    return out


def _raw(rows: _Rows, row: int) -> dict[str, Any]:
    """The row as written (category aside, which is the label's class)."""
    values = (*rows.dims[row], *rows.quat[row], *rows.centre[row])
    names = ("length_m", "width_m", "height_m", "qw", "qx", "qy", "qz", "tx_m", "ty_m", "tz_m")
    return {
        "timestamp_ns": int(rows.stamps[row]),
        "track_uuid": rows.uuid[row],
        **{n: float(v) for n, v in zip(names, values, strict=True)},
        "num_interior_pts": int(rows.interior[row]),
    }


def _world(
    rows: _Rows,
    yaw: FloatArray,
    poses: Poses | None,
    ground: GroundRaster | None,
    log: Path,
    problems: list[InputProblem],
) -> list[dict[str, Any]]:
    """City-frame fields of each row (empty where the sweep has no ego pose)."""
    if poses is None:
        return [{} for _ in rows.stamps]
    at = poses.lookup(rows.stamps)
    missing = sorted({int(s) for s in rows.stamps[(at < 0) & rows.ok]})
    if missing:
        message = (
            f"no ego pose for {len(missing)} annotated sweeps (e.g. {missing[0]}): world checks skip them"
        )
        problems.append(warning(log / POSES, message))
    safe = np.maximum(at, 0)
    city = np.einsum("nij,nj->ni", poses.rotation[safe], rows.centre) + poses.translation[safe]
    city_yaw = wrap_angle(yaw + poses.yaw[safe])
    ground_z = ground.height_at(city[:, :2]) if ground is not None else np.full(len(city), np.nan)
    out: list[dict[str, Any]] = []
    for i in range(len(rows.stamps)):
        if at[i] < 0:
            out.append({})
            continue
        fields = {"city_x": city[i, 0], "city_y": city[i, 1], "city_z": city[i, 2], "city_yaw": city_yaw[i]}
        fields |= {"ego_x": poses.translation[at[i], 0], "ego_y": poses.translation[at[i], 1]}
        fields["ego_yaw"] = poses.yaw[at[i]]
        if np.isfinite(ground_z[i]):
            fields["ground_z"] = ground_z[i]
        out.append({k: float(v) for k, v in fields.items()})
    return out


def _footprints(centre: FloatArray, dims: FloatArray, yaw: FloatArray) -> FloatArray:
    """Axis-aligned bird's-eye boxes (N, 4) of the rotated footprints, ego-frame metres."""
    c, s = np.abs(np.cos(yaw)), np.abs(np.sin(yaw))
    hx = c * dims[:, 0] / 2 + s * dims[:, 1] / 2
    hy = s * dims[:, 0] / 2 + c * dims[:, 1] / 2
    box = np.stack([centre[:, 0] - hx, centre[:, 1] - hy, centre[:, 0] + hx, centre[:, 1] + hy], axis=1)
    return np.asarray(np.where(np.isfinite(box), box, 0.0), dtype=np.float64)
