from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli.calibrate import parse_sources
from cli.main import app

runner = CliRunner()


def test_sources_pair_datasets_audits_and_numbered_predictions() -> None:
    got = parse_sources([Path("a"), Path("b")], [Path("a.csv"), Path("b.json")], ["p1", "2:p2", "2:p3"], [])
    assert got == [
        (Path("a"), Path("a.csv"), (Path("p1"),), None),
        (Path("b"), Path("b.json"), (Path("p2"), Path("p3")), None),
    ]
    with pytest.raises(typer.BadParameter, match="no dataset number 3"):
        parse_sources([Path("a")], [Path("a.csv")], ["3:p"], [])
    with pytest.raises(typer.BadParameter, match="give one each"):
        parse_sources([Path("a")], [], [], [])


def test_calibrate_then_scan_with_it_and_refuse_it_under_another_spec(
    shared_data: Path, tmp_path: Path
) -> None:
    root = shared_data / "kitti_rechecked"
    model = tmp_path / "m.json"
    result = runner.invoke(
        app,
        [
            "calibrate",
            "-d",
            str(root),
            "-a",
            str(root / "recheck.csv"),
            "-p",
            str(root / "pred_2"),
            "--out",
            str(model),
        ],
    )
    assert result.exit_code == 0, result.output
    meta = json.loads(model.read_text())
    assert meta["formats"] == ["kitti"] and meta["detectors"] == ["pred_2"]
    out = tmp_path / "f.jsonl"
    ok = runner.invoke(
        app, ["scan", str(root), "-p", str(root / "pred_2"), "--calibration", str(model), "--out", str(out)]
    )
    assert ok.exit_code == 0, ok.output
    spec = tmp_path / "other.md"
    spec.write_text(Path("specs/kitti.md").read_text().replace("max_inside: 0.5", "max_inside: 0.45"))
    refused = runner.invoke(app, ["scan", str(root), "--spec", str(spec), "--calibration", str(model)])
    assert refused.exit_code == 2 and "fitted under spec kitti" in refused.output
    assert "rule dontcare (dontcare)" in refused.output and "gtqa calibrate" in refused.output
    unrelated = tmp_path / "unrelated.md"
    unrelated.write_text(Path("specs/kitti.md").read_text().replace("  bad_box: medium", "  bad_box: high"))
    kept = runner.invoke(app, ["scan", str(root), "--spec", str(unrelated), "--calibration", str(model)])
    assert kept.exit_code == 0 and "fitted under" not in kept.output, kept.output
    allowed = runner.invoke(
        app, ["scan", str(root), "--spec", str(spec), "--calibration", str(model), "--allow-spec-mismatch"]
    )
    assert allowed.exit_code == 0, allowed.output
