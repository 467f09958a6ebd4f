"""``gtqa evals inject`` and ``gtqa evals score`` end to end, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from evals.inject.manifest import Family, read_manifest
from gtqa.domain import Finding, IssueType
from gtqa.formats.findings import write_findings

runner = CliRunner()


def test_inject_then_score_a_perfect_and_an_empty_findings_list(shared_data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    args = ["evals", "inject", str(shared_data / "kitti_tracking"), "--format", "kitti-tracking"]
    result = runner.invoke(app, [*args, "--rate", "0.02", "--seed", "4", "--out", str(copy)])
    assert result.exit_code == 0, result.output
    manifest = read_manifest(copy / "manifest.json")
    assert len(manifest.entries) == 63  # round(0.02 x 3,135)

    # an oracle: one flag per defect, of the right type, at the defect's own label or box
    oracle = [
        Finding(
            frame=e.frame, label=e.label, type=e.issue_type, score=0.9, box=e.box, check="oracle", message=""
        )
        for e in manifest.entries
    ]
    write_findings(tmp_path / "oracle.jsonl", oracle)
    scores = tmp_path / "scores.json"
    score = ["evals", "score", str(tmp_path / "oracle.jsonl"), "--manifest", str(copy / "manifest.json")]
    result = runner.invoke(app, [*score, "--dataset", str(copy), "--json", str(scores)])
    assert result.exit_code == 0, result.output
    data = json.loads(scores.read_text())
    assert data["ap"] == 1.0 and data["typed_recall"] == 1.0 and data["false_alarms"] == 0
    assert {f["family"] for f in data["families"]} == {f.value for f in Family}

    write_findings(tmp_path / "none.jsonl", [])
    score[2] = str(tmp_path / "none.jsonl")
    result = runner.invoke(app, [*score, "--dataset", str(copy), "--json", str(scores)])
    assert result.exit_code == 0 and json.loads(scores.read_text())["ap"] == 0.0


def test_score_against_the_real_recheck(shared_data: Path, tmp_path: Path) -> None:
    root = shared_data / "kitti_rechecked"
    flag = Finding(
        frame="000015",
        label=None,
        type=IssueType.missing_object,
        score=0.8,
        box=(45, 194, 76, 269),  # the pedestrian behind the parked car (kitti_object/SOURCE-images-labels.md)
        check="hand",
        message="",
    )
    write_findings(tmp_path / "f.jsonl", [flag])
    out = tmp_path / "s.json"
    args = ["evals", "score", str(tmp_path / "f.jsonl"), "--recheck", str(root / "recheck.csv")]
    result = runner.invoke(app, [*args, "--dataset", str(root), "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["n_errors"] == 217 and data["hits"] == 1 and data["precision_at"]["50"] == 1 / 50


def test_usage_errors_exit_2(shared_data: Path, tmp_path: Path) -> None:
    write_findings(tmp_path / "f.jsonl", [])
    result = runner.invoke(app, ["evals", "score", str(tmp_path / "f.jsonl"), "--dataset", str(tmp_path)])
    assert result.exit_code == 2 and "exactly one of --manifest or --recheck" in result.output
    args = ["evals", "inject", str(shared_data / "kitti_object"), "--out", str(tmp_path / "c")]
    result = runner.invoke(app, [*args, "--families", "teleported"])
    assert result.exit_code == 2 and "unknown families" in result.output


def test_replay_on_the_real_recheck_writes_each_rounds_figures(shared_data: Path, tmp_path: Path) -> None:
    root = shared_data / "kitti_rechecked"
    out = tmp_path / "replay.json"
    args = ["evals", "replay", str(root), "-f", "kitti", "-p", str(root / "pred_2")]
    args += ["--audits", str(root / "recheck.csv"), "--batch", "50", "--rounds", "2", "--min-fit", "100000"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [r["round"] for r in data["rounds"]] == [1, 2]
    assert all(r["decided"] == 50 and r["explored"] == 5 for r in data["rounds"])
    # Too few audits to refit: the learning queue is the static one but for its exploration picks.
    assert all(not r["promoted"] and r["reason"].startswith("not refitted") for r in data["rounds"])
    assert all(r["ap_remaining_learning"] == r["ap_remaining_static"] for r in data["rounds"])
    assert data["positives"] > 0 and data["flags"] > data["positives"]


def test_replay_refuses_a_calibration_file_it_cannot_read(shared_data: Path, tmp_path: Path) -> None:
    root = shared_data / "kitti_rechecked"
    (tmp_path / "bad.json").write_text("{}")
    args = ["evals", "replay", str(root), "-f", "kitti", "--audits", str(root / "recheck.csv")]
    result = runner.invoke(
        app, [*args, "--calibration", str(tmp_path / "bad.json"), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 2 and "error:" in result.output
