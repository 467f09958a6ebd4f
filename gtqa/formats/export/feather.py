"""Patching Argoverse 2 ``annotations.feather`` files: a log no audit touched is copied byte for byte;
in a touched log the table keeps every column (those gtqa does not read too), type, row and row order
of the source, except that a changed label's row gets its new ``category`` and whichever of its
geometry columns (``tx_m ty_m tz_m``, ``length_m width_m height_m``, the quaternion) the correction
changed, a removed label's row is dropped and an added label's row is appended. Rows the reader
skipped (NaN, invalid quaternion) are carried through untouched.

A correction's geometry is read from its attributes under the source's column names; a changed
``yaw`` with an unchanged quaternion becomes the quaternion of that yaw about z. A correction without
them changes the class only (its ``box`` is a derived footprint, not written back)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.feather as feather

from gtqa.domain import Dataset, Frame, Label
from gtqa.domain.lidar import yaw_of
from gtqa.formats.av2.reader import ANNOTATIONS, log_dirs
from gtqa.formats.export.diff import Changes, changes

_QUAT = ("qw", "qx", "qy", "qz")
_GEOMETRY = ("length_m", "width_m", "height_m", *_QUAT, "tx_m", "ty_m", "tz_m")


def patch_av2(original: Dataset, corrected: Dataset, out: Path) -> dict[str, str]:
    """Every log's ``annotations.feather`` patched, at ``out/<log>/annotations.feather`` (also for a
    dataset that is one log: the folder name is the log id its frame and label ids are made of, as
    ``write_av2`` writes); returns {label id in the dataset: label id in the written copy}."""
    diff = changes(original, corrected)
    root = Path(original.root)
    before = {label.id: label for label in original.labels()}
    ids = {i: i for i in before if i not in diff.removed}
    for log in log_dirs(root):
        source = log / ANNOTATIONS
        if not source.is_file():
            continue
        target = out / log.name / ANNOTATIONS
        target.parent.mkdir(parents=True, exist_ok=True)
        added = _added(diff, log.name)
        if not added and not _touched(diff, log.name):
            shutil.copyfile(source, target)
            continue
        ids.update(_patch_log(source, target, log.name, diff, before, added))
    return ids


def _log_of(label_id: str) -> str:
    return label_id.rpartition(":")[0]


def _row_of(label_id: str) -> int:
    return int(label_id.rpartition(":")[2])


def _touched(diff: Changes, log: str) -> bool:
    return any(_log_of(i) == log for i in (*diff.changed, *diff.removed))


def _added(diff: Changes, log: str) -> list[tuple[Label, Frame]]:
    return [
        (label, diff.frames[frame_id])
        for frame_id, labels in diff.added.items()
        if (diff.frames[frame_id].sequence or frame_id.partition("/")[0]) == log
        for label in labels
    ]


def _patch_log(
    source: Path,
    target: Path,
    log: str,
    diff: Changes,
    before: dict[str, Label],
    added: list[tuple[Label, Frame]],
) -> dict[str, str]:
    table = feather.read_table(source)
    edits: dict[str, dict[int, Any]] = {}  # column -> {row: new value}
    for ident, label in diff.changed.items():
        if _log_of(ident) == log:
            for name, value in _changed_values(before[ident], label).items():
                edits.setdefault(name, {})[_row_of(ident)] = value
    table = _set_cells(table, edits)
    removed = {_row_of(i) for i in diff.removed if _log_of(i) == log}
    kept = [r for r in range(table.num_rows) if r not in removed]
    if removed:
        table = table.take(pa.array(kept, type=pa.int64()))
    ids = {f"{log}:{row}": f"{log}:{at}" for at, row in enumerate(kept) if f"{log}:{row}" in before}
    if added:
        rows = [_new_row(table.schema, label, frame) for label, frame in added]
        table = pa.concat_tables([table, pa.Table.from_pylist(rows, schema=table.schema)])
        ids.update({label.id: f"{log}:{len(kept) + k}" for k, (label, _) in enumerate(added)})
    feather.write_feather(table, target)
    return ids


def _set_cells(table: pa.Table, edits: dict[str, dict[int, Any]]) -> pa.Table:
    """``table`` with the given cells replaced, each column rebuilt once with its own type."""
    for name, cells in edits.items():
        at = table.schema.get_field_index(name)
        if at < 0:
            continue
        field = table.schema.field(at)
        column = table.column(at).to_pylist()
        for row, value in cells.items():
            column[row] = value
        table = table.set_column(at, field, pa.array(column, type=field.type))
    return table


def _changed_values(old: Label, new: Label) -> dict[str, Any]:
    """The columns of ``old``'s row that ``new`` says differently (class and geometry)."""
    values: dict[str, Any] = {"category": new.cls} if new.cls != old.cls else {}
    for name in _GEOMETRY:
        now = _number(new.attributes.get(name))
        if now is not None and now != _number(old.attributes.get(name)):
            values[name] = now
    yaw, was = _number(new.attributes.get("yaw")), _number(old.attributes.get("yaw"))
    if yaw is not None and yaw != was and not any(q in values for q in _QUAT):
        values.update(zip(_QUAT, _yaw_quaternion(yaw), strict=True))
    return values


def _new_row(schema: pa.Schema, label: Label, frame: Frame) -> dict[str, Any]:
    """An added label's row: its attributes under the source's column names (null where it has none),
    its class, its frame's timestamp, and the quaternion of its ``yaw`` unless its quaternion has
    that heading already."""
    row: dict[str, Any] = {name: label.attributes.get(name) for name in schema.names}
    row["category"] = label.cls
    stamp = frame.id.rpartition("/")[2]
    if row.get("timestamp_ns") is None and stamp.isdigit():
        row["timestamp_ns"] = int(stamp)
    yaw = _number(label.attributes.get("yaw"))
    quat = [_number(row.get(q)) for q in _QUAT]
    if yaw is not None and (None in quat or not _same_heading(yaw, quat)):
        row.update(zip(_QUAT, _yaw_quaternion(yaw), strict=True))
    return {name: row.get(name) for name in schema.names}


def _yaw_quaternion(yaw: float) -> tuple[float, float, float, float]:
    return (math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2))


def _same_heading(yaw: float, quat: list[float | None]) -> bool:
    w, x, y, z = (float(q or 0.0) for q in quat)
    heading = float(yaw_of(w, x, y, z))  # type: ignore[arg-type]
    return abs(math.remainder(heading - yaw, 2 * math.pi)) < 1e-9


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


__all__ = ["patch_av2"]
