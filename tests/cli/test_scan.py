from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from gtqa.formats.findings import REQUIRED

runner = CliRunner()


def _kitti(tmp_path: Path, lines: list[str]) -> Path:
    (tmp_path / "label_2").mkdir()
    (tmp_path / "label_2" / "000001.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_scan_writes_the_findings_contract(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    data = _kitti(
        tmp_path / "d",
        [
            "Car 0.00 0 -1.58 100.00 150.00 200.00 220.00 1.5 1.6 3.9 1.0 1.6 20.0 -1.5",
            "Car 0.00 0 -1.58 101.00 150.00 201.00 221.00 1.5 1.6 3.9 1.0 1.6 20.0 -1.5",
            "Car 0.00 0 -1.58 300.00 150.00 290.00 220.00 1.5 1.6 3.9 5.0 1.6 20.0 -1.5",
        ],
    )
    out = tmp_path / "f.jsonl"
    result = runner.invoke(app, ["scan", str(data), "--format", "kitti", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows, "a reversed box and a duplicate must be flagged"
    for row in rows:
        assert list(row)[: len(REQUIRED)] == list(REQUIRED)
        assert 0.0 <= row["score"] <= 1.0 and len(row["box"]) == 4
    by_label = {(r["label"], r["type"]) for r in rows}
    assert ("000001:2", "bad_box") in by_label
    assert ("000001:1", "duplicate") in by_label
    assert len(by_label) == len(rows)
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)


def test_scan_names_the_file_of_an_unreadable_dataset(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(tmp_path / "nope"), "--format", "kitti"])
    assert result.exit_code == 2
    assert "nope" in result.output and "no such file" in result.output


def test_scan_reports_a_malformed_line_and_keeps_the_good_ones(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    _kitti(data, ["Car 0.00 0 -1.58 100.00 150.00 200.00", "Car 0.00 0 -1.58 300 150 290 220 1 1 1 1 1 20 0"])
    out = tmp_path / "f.jsonl"
    result = runner.invoke(app, ["scan", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "000001.txt:1" in result.output and "needs 15 or 16 fields" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert any(r["label"] == "000001:1" for r in rows)


def test_unknown_check_lists_the_valid_ones(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    _kitti(data, ["Car 0.00 0 -1.58 100 150 200 220 1 1 1 1 1 20 0"])
    result = runner.invoke(app, ["scan", str(data), "--check", "nope"])
    assert result.exit_code == 2
    assert "unknown check 'nope'; valid checks:" in result.output


def test_scan_counts_what_reading_dropped_in_one_line_and_strict_exits_2(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    good = "Car 0.00 0 -1.58 100.00 150.00 200.00 220.00 1.5 1.6 3.9 1.0 1.6 20.0 -1.5"
    data = _kitti(tmp_path / "d", [good, "Car 0 0", good.replace("Car", "Van"), "Van x"])
    result = runner.invoke(app, ["scan", str(data), "--format", "kitti", "--top", "1"])
    assert result.exit_code == 0, result.output
    assert "dropped while reading: 2 labels" in result.stderr
    out = tmp_path / "f.jsonl"
    strict = runner.invoke(app, ["scan", str(data), "--format", "kitti", "--strict", "--out", str(out)])
    assert strict.exit_code == 2 and not out.exists()
    assert f"error: {data}: dropped 2 labels while reading (--strict)" in strict.stderr
    (tmp_path / "clean").mkdir()
    clean = _kitti(tmp_path / "clean", [good])
    assert runner.invoke(app, ["scan", str(clean), "--format", "kitti", "--strict"]).exit_code == 0
