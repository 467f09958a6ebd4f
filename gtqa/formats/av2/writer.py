"""Writing AV2 logs back: ``<out>/<log>/annotations.feather`` with the source's columns and types.

Rows keep their source order (label ids ``<log>:<row>``), then any new label (a corrected copy's
additions) in frame order, so a copy written without changes holds the same rows, values and order
as the source. The log's poses, calibration and map are copied (so the copy reads back with the same
city poses and ground heights); its sweeps are not (an export stays small; labels do not need them).
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather

from gtqa.domain import Dataset, Label
from gtqa.domain.lidar import is_lidar
from gtqa.formats.av2._tables import ANNOTATION_COLUMNS
from gtqa.formats.av2.reader import ANNOTATIONS, POSES, log_dirs

_TYPES = {
    "timestamp_ns": pa.int64(),
    "track_uuid": pa.string(),
    "category": pa.string(),
    "num_interior_pts": pa.int64(),
}


def write_av2(dataset: Dataset, out: Path) -> dict[str, str]:
    """Write every log of ``dataset``; returns {label id in dataset: label id in the written copy}."""
    by_log: dict[str, list[Label]] = defaultdict(list)
    for frame in dataset.frames:
        by_log[frame.sequence or dataset.name].extend(lab for lab in frame.labels if is_lidar(lab))
    sources = {p.name: p for p in log_dirs(Path(dataset.root))} if Path(dataset.root).exists() else {}
    ids: dict[str, str] = {}
    for log, labels in by_log.items():
        folder = out / log
        folder.mkdir(parents=True, exist_ok=True)
        ordered = sorted(labels, key=lambda lab: _source_row(lab, log))
        feather.write_feather(_table(ordered), folder / ANNOTATIONS, compression="uncompressed")
        ids.update({lab.id: f"{log}:{i}" for i, lab in enumerate(ordered)})
        if log in sources:
            _carry(sources[log], folder)
    return ids


def _source_row(label: Label, log: str) -> tuple[int, int]:
    prefix, _, row = label.id.rpartition(":")
    return (0, int(row)) if prefix == log and row.isdigit() else (1, 0)


def _table(labels: list[Label]) -> pa.Table:
    columns = {}
    for name in ANNOTATION_COLUMNS:
        values = [lab.cls if name == "category" else lab.attributes.get(name) for lab in labels]
        columns[name] = pa.array(values, type=_TYPES.get(name, pa.float64()))
    return pa.table(columns)


def _carry(source: Path, folder: Path) -> None:
    """Copy the small files of the source log beside the written annotations."""
    if (source / POSES).is_file():
        shutil.copyfile(source / POSES, folder / POSES)
    for name in ("calibration", "map"):
        if (source / name).is_dir():
            shutil.copytree(source / name, folder / name, dirs_exist_ok=True)
