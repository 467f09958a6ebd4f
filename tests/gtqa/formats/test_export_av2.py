"""Lossless export of Argoverse 2 logs (``gtqa.formats.export.feather``): with no audit each
``annotations.feather`` comes back byte for byte; with audits only the audited rows change, and every
other row, column (including ones gtqa does not read), type and the row order stay as in the source."""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
from av2_synthetic import LOG, SyntheticLog, moving_scene, write_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from gtqa.domain import Audit, IssueType, Label, Verdict
from gtqa.formats import load_dataset
from gtqa.formats.export.corrections import export_labels
from gtqa.formats.export.snapshot import keep_source, restore_source

SHARED_LOG_ID = "7fab2350-7eaf-3b7e-a39d-6937a4c1bede"
ANNOTATIONS = "annotations.feather"


def _defect(label: Label, corrected: Label | None, issue: IssueType, ident: str) -> Audit:
    return Audit(
        id=ident, frame=label.frame, label=label.id, verdict=Verdict.defect,
        issue_type=issue, corrected=corrected,
    )  # fmt: skip


def _without_rows(table: pa.Table, rows: set[int]) -> pa.Table:
    return table.take(pa.array([r for r in range(table.num_rows) if r not in rows], type=pa.int64()))


def _values(table: pa.Table) -> str:
    """The table's rows as text: equal for equal values, NaN included (``Table.equals`` says NaN != NaN)."""
    return repr(table.to_pylist())


def _with_extra_column(log: Path) -> pa.Table:
    """The log's annotations with a column gtqa does not read and a float32 column."""
    table = feather.read_table(log / ANNOTATIONS)
    table = table.append_column("note", pa.array([f"n{i}" for i in range(table.num_rows)]))
    at = table.schema.get_field_index("height_m")
    table = table.set_column(at, pa.field("height_m", pa.float32()), table.column(at).cast(pa.float32()))
    feather.write_feather(table, log / ANNOTATIONS)
    return table


def test_the_real_log_exported_without_audits_is_byte_identical(shared_data: Path, tmp_path: Path) -> None:
    log = shared_data / "av2_sensor" / SHARED_LOG_ID
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["export", str(log), "--format", "av2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / SHARED_LOG_ID / ANNOTATIONS).read_bytes() == (log / ANNOTATIONS).read_bytes()
    assert feather.read_table(out / SHARED_LOG_ID / ANNOTATIONS).equals(feather.read_table(log / ANNOTATIONS))


def test_real_audits_change_only_their_rows_class_and_geometry(shared_data: Path, tmp_path: Path) -> None:
    log = tmp_path / "src" / SHARED_LOG_ID
    log.mkdir(parents=True)
    shutil.copyfile(shared_data / "av2_sensor" / SHARED_LOG_ID / ANNOTATIONS, log / ANNOTATIONS)
    data = load_dataset(log, "av2")
    labels = list(data.labels())
    moved, relabelled, spurious = labels[5], labels[100], labels[2000]
    geometry = moved.attributes | {"tx_m": float(moved.attributes["tx_m"]) + 1.5, "length_m": 9.0, "yaw": 0.5}
    audits = [
        _defect(moved, moved.model_copy(update={"attributes": geometry}), IssueType.bad_box, "a1"),
        _defect(relabelled, relabelled.model_copy(update={"cls": "BUS"}), IssueType.wrong_class, "a2"),
        _defect(spurious, None, IssueType.spurious_object, "a3"),
    ]
    manifest = export_labels(data, audits, tmp_path / "out")
    source = feather.read_table(log / ANNOTATIONS)
    written = feather.read_table(tmp_path / "out" / SHARED_LOG_ID / ANNOTATIONS)
    rows = {int(lab.id.rpartition(":")[2]) for lab in (moved, relabelled, spurious)}
    assert written.schema == source.schema and written.num_rows == source.num_rows - 1
    assert _without_rows(written, {5, 100}).equals(_without_rows(source, rows))
    row5 = written.slice(5, 1).to_pylist()[0]
    was5 = source.slice(5, 1).to_pylist()[0]
    assert row5["tx_m"] == was5["tx_m"] + 1.5 and row5["length_m"] == 9.0
    assert math.isclose(row5["qw"], math.cos(0.25)) and math.isclose(row5["qz"], math.sin(0.25))
    assert {k: v for k, v in row5.items() if k not in {"tx_m", "length_m", "qw", "qx", "qy", "qz"}} == {
        k: v for k, v in was5.items() if k not in {"tx_m", "length_m", "qw", "qx", "qy", "qz"}
    }
    row100 = written.slice(100, 1).to_pylist()[0]
    assert row100 == source.slice(100, 1).to_pylist()[0] | {"category": "BUS"}
    assert manifest["label_ids"][labels[2001].id] == f"{SHARED_LOG_ID}:2000"
    assert spurious.id not in manifest["label_ids"]
    assert sorted(a["action"] for a in manifest["applied"]) == ["removed", "replaced", "replaced"]


def test_unread_columns_types_and_skipped_rows_survive_a_patch(tmp_path: Path) -> None:
    log = write_log(tmp_path / "src", SyntheticLog(moving_scene(4)))
    table = _with_extra_column(log)
    tx = table.schema.get_field_index("tx_m")
    nan_at_1 = pc.if_else(pc.equal(pa.array(range(table.num_rows)), 1), math.nan, table["tx_m"])
    broken = table.set_column(tx, "tx_m", nan_at_1)
    feather.write_feather(broken, log / ANNOTATIONS)
    data = load_dataset(log, "av2")
    assert f"{LOG}:1" not in {lab.id for lab in data.labels()}  # the reader skipped row 1
    label = next(lab for lab in data.labels() if lab.id == f"{LOG}:2")
    audit = _defect(label, label.model_copy(update={"cls": "TRUCK"}), IssueType.wrong_class, "a")
    export_labels(data, [audit], tmp_path / "out")
    written = feather.read_table(tmp_path / "out" / LOG / ANNOTATIONS)
    assert written.schema == broken.schema
    assert math.isnan(written["tx_m"][1].as_py())
    assert _without_rows(written, {1, 2}).equals(_without_rows(broken, {1, 2}))
    assert written["category"][2].as_py() == "TRUCK" and written["note"][2].as_py() == "n2"


def test_an_added_cuboid_is_appended_to_its_log_and_reads_back(tmp_path: Path) -> None:
    log = write_log(tmp_path / "src", SyntheticLog(moving_scene(3)))
    data = load_dataset(log, "av2")
    first = next(data.labels())
    new = first.model_copy(update={"id": "new", "attributes": first.attributes | {"tx_m": 40.0, "yaw": 1.0}})
    audit = Audit(
        id="m", frame=first.frame, label=None, verdict=Verdict.defect,
        issue_type=IssueType.missing_object, corrected=new,
    )  # fmt: skip
    manifest = export_labels(data, [audit], tmp_path / "out")
    source = feather.read_table(log / ANNOTATIONS)
    written = feather.read_table(tmp_path / "out" / LOG / ANNOTATIONS)
    assert written.slice(0, source.num_rows).equals(source) and written.num_rows == source.num_rows + 1
    again = load_dataset(tmp_path / "out" / LOG, "av2")
    added = next(lab for lab in again.labels() if lab.id == manifest["label_ids"]["new"])
    assert added.frame == first.frame and added.attributes["tx_m"] == 40.0
    assert math.isclose(float(added.attributes["yaw"]), 1.0)


def test_kept_av2_sources_rebuild_a_log_the_export_can_patch(tmp_path: Path) -> None:
    log = write_log(tmp_path / "src", SyntheticLog(moving_scene(3)))
    keep_source(log, "av2", tmp_path / "store", "b1")
    root = restore_source(tmp_path / "store", "b1", tmp_path / "into")
    assert root is not None and (root / ANNOTATIONS).read_bytes() == (log / ANNOTATIONS).read_bytes()
    data = load_dataset(log, "av2").model_copy(update={"root": str(root)})
    export_labels(data, [], tmp_path / "out")
    assert (tmp_path / "out" / LOG / ANNOTATIONS).read_bytes() == (log / ANNOTATIONS).read_bytes()


_FINITE = st.floats(min_value=-80, max_value=80, allow_nan=False)
_ROW = st.fixed_dictionaries(
    {
        "stamp": st.integers(0, 3),
        "track": st.sampled_from(["a", "b", "c"]),
        "size": st.floats(min_value=0.2, max_value=9, allow_nan=False),
        "yaw": st.floats(min_value=-3.1, max_value=3.1, allow_nan=False),
        "x": _FINITE,
        "broken": st.booleans(),  # NaN centre: the reader skips the row, the export must keep it
    }
)


def _generated_log(folder: Path, rows: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "timestamp_ns": pa.array([1_000 + r["stamp"] for r in rows], type=pa.int64()),
            "track_uuid": [r["track"] for r in rows],
            "category": ["REGULAR_VEHICLE"] * len(rows),
            "length_m": [r["size"] for r in rows],
            "width_m": pa.array([r["size"] / 2 for r in rows], type=pa.float32()),
            "height_m": [1.5] * len(rows),
            "qw": [math.cos(r["yaw"] / 2) for r in rows],
            "qx": [0.0] * len(rows),
            "qy": [0.0] * len(rows),
            "qz": [math.sin(r["yaw"] / 2) for r in rows],
            "tx_m": [math.nan if r["broken"] else r["x"] for r in rows],
            "ty_m": [1.0] * len(rows),
            "tz_m": [0.7] * len(rows),
            "num_interior_pts": pa.array([7] * len(rows), type=pa.int64()),
            "extra": pa.array(list(range(len(rows))), type=pa.int16()),
        }
    )
    feather.write_feather(table, folder / ANNOTATIONS)
    return folder


@given(rows=st.lists(_ROW, min_size=1, max_size=25), picks=st.sets(st.integers(0, 24), max_size=6))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_generated_logs_keep_every_row_but_the_audited_ones(
    rows: list[dict[str, Any]], picks: set[int]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        log = _generated_log(Path(tmp) / "src" / "gen", rows)
        data = load_dataset(log, "av2")
        labels = list(data.labels())
        assert len(labels) == sum(not r["broken"] for r in rows)
        export_labels(data, [], Path(tmp) / "same")
        assert (Path(tmp) / "same" / "gen" / ANNOTATIONS).read_bytes() == (log / ANNOTATIONS).read_bytes()
        chosen = [labels[i] for i in sorted(picks) if i < len(labels)]
        audits = [
            _defect(lab, lab.model_copy(update={"cls": "BUS"}), IssueType.wrong_class, f"a{i}")
            for i, lab in enumerate(chosen)
        ]
        export_labels(data, audits, Path(tmp) / "out")
        source = feather.read_table(log / ANNOTATIONS)
        written = feather.read_table(Path(tmp) / "out" / "gen" / ANNOTATIONS)
        changed = {int(lab.id.rpartition(":")[2]) for lab in chosen}
        assert written.schema == source.schema and written.num_rows == source.num_rows
        assert _values(_without_rows(written, changed)) == _values(_without_rows(source, changed))
        assert all(written["category"][r].as_py() == "BUS" for r in changed)
        assert _values(written.drop_columns(["category"])) == _values(source.drop_columns(["category"]))
