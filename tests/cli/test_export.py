"""``gtqa export``: the dataset's own files back, with the audits' corrections, through cli.voice."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from gtqa.domain import Audit, Box2D, IssueType, Verdict
from gtqa.formats import load_dataset

runner = CliRunner()
CAR = "Car 0.00 0 -1.58 100.00 150.00 200.00 220.00 1.50 1.60 3.90 1.00 1.60 20.00 -1.50 0.93"


def _kitti(root: Path) -> Path:
    (root / "label_2").mkdir(parents=True)
    (root / "label_2" / "000001.txt").write_text(f"{CAR}\nnot a label\n{CAR}\n")
    (root / "label_2" / "000002.txt").write_text(f"{CAR}\n")
    return root


def test_export_without_audits_writes_the_source_files_byte_for_byte(tmp_path: Path) -> None:
    source = _kitti(tmp_path / "src")
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("000001.txt", "000002.txt"):
        assert (out / "label_2" / name).read_bytes() == (source / "label_2" / name).read_bytes()
    assert "no audit applied" in result.stderr and result.stdout == ""
    assert "skipped:" in result.stderr  # the line it could not read is reported, and still written


def test_export_applies_an_audit_to_its_line_only(tmp_path: Path) -> None:
    source = _kitti(tmp_path / "src")
    label = next(load_dataset(source, "kitti").labels())
    corrected = label.model_copy(update={"box": Box2D(x1=110, y1=150, x2=200, y2=220)})
    audit = Audit(
        id="a", frame=label.frame, label=label.id, verdict=Verdict.defect,
        issue_type=IssueType.bad_box, corrected=corrected,
    )  # fmt: skip
    audits = tmp_path / "audits.jsonl"
    audits.write_text(audit.model_dump_json() + "\n")
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(source), "--audits", str(audits), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = (out / "label_2" / "000001.txt").read_text().splitlines()
    assert lines == [CAR.replace("100.00", "110"), "not a label", CAR]
    assert "1 replaced" in result.stderr
    manifest = json.loads((out / "corrections.json").read_text())
    assert [(a["action"], a["source"]) for a in manifest["applied"]] == [("replaced", "label_2/000001.txt:1")]


def test_export_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    source = _kitti(tmp_path / "src")
    result = runner.invoke(app, ["export", str(source), "--out", str(source)])
    assert result.exit_code == 2
    assert "not an empty folder" in result.stderr


def test_export_names_the_line_of_a_malformed_audit(tmp_path: Path) -> None:
    source = _kitti(tmp_path / "src")
    audits = tmp_path / "audits.jsonl"
    audits.write_text('{"id": "a"}\n')
    result = runner.invoke(
        app, ["export", str(source), "--audits", str(audits), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert f"error: {audits}:1:" in result.stderr
