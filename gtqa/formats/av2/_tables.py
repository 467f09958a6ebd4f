"""Feather files of an AV2 log, read so that a missing, truncated or malformed file becomes an
``InputProblem`` naming it, never an exception (the rest of the log is still reviewed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather

from gtqa.domain import InputProblem, ProblemLevel
from gtqa.domain.geometry import FloatArray

ANNOTATION_COLUMNS = (
    "timestamp_ns",
    "track_uuid",
    "category",
    "length_m",
    "width_m",
    "height_m",
    "qw",
    "qx",
    "qy",
    "qz",
    "tx_m",
    "ty_m",
    "tz_m",
    "num_interior_pts",
)
POSE_COLUMNS = ("timestamp_ns", "qw", "qx", "qy", "qz", "tx_m", "ty_m", "tz_m")
POINT_COLUMNS = ("x", "y", "z")


class TableError(ValueError):
    """A feather file that cannot be used; ``str()`` names the file."""

    def __init__(self, path: Path, message: str) -> None:
        self.problem = InputProblem(path=str(path), message=message)
        super().__init__(str(self.problem))


def read_table(path: Path, columns: tuple[str, ...]) -> pa.Table:
    """The named columns of a feather file, or ``TableError`` (missing, truncated, missing columns)."""
    if not path.is_file():
        raise TableError(path, "file missing")
    try:
        table = feather.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise TableError(path, f"unreadable feather file (truncated or not Arrow): {exc}") from None
    absent = [c for c in columns if c not in table.column_names]
    if absent:
        raise TableError(path, f"missing columns {absent}; has {table.column_names}")
    return table.select(list(columns))


def table_or_problem(path: Path, columns: tuple[str, ...], problems: list[InputProblem]) -> pa.Table | None:
    try:
        return read_table(path, columns)
    except TableError as exc:
        problems.append(exc.problem)
        return None


def floats(table: pa.Table, name: str) -> FloatArray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)


def ints(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.int64)


def read_points(path: Path) -> FloatArray:
    """A LiDAR sweep's points, (N, 3) float64 metres in the ego frame; ``TableError`` if unusable."""
    table = read_table(path, POINT_COLUMNS)
    pts = np.stack([floats(table, c) for c in POINT_COLUMNS], axis=1)
    return np.asarray(pts[np.isfinite(pts).all(axis=1)], dtype=np.float64)


def warning(path: Path, message: str) -> InputProblem:
    return InputProblem(path=str(path), message=message, level=ProblemLevel.warning)
