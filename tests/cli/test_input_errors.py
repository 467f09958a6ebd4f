"""Inputs that are missing or malformed end in one clean error line and exit status 2: never a traceback,
never a silent exit 0 with the input dropped."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
GOOD = "Car 0.00 0 -1.58 100.00 150.00 200.00 220.00 1.5 1.6 3.9 1.0 1.6 20.0 -1.5"


def _kitti(root: Path) -> Path:
    (root / "label_2").mkdir(parents=True)
    (root / "label_2" / "000001.txt").write_text(GOOD + "\n")
    return root


def test_a_missing_predictions_file_says_no_such_file(tmp_path: Path) -> None:
    missing = tmp_path / "preds.txt"
    result = runner.invoke(app, ["scan", str(_kitti(tmp_path / "d")), "-p", str(missing)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {missing}: no such file or folder"


@pytest.mark.parametrize(
    ("name", "text"),
    [("preds.csv", "a,b\n1,2\n"), ("preds.json", '{"x": 1'), ("results/000001.txt", "Car x y\n")],
)
def test_a_malformed_predictions_file_is_an_error_not_exit_0(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    source = path.parent if "/" in name else path
    result = runner.invoke(app, ["scan", str(_kitti(tmp_path / "d")), "-p", str(source)])
    assert result.exit_code == 2, result.output
    assert f"error: {path}:1: no prediction could be read" in result.stderr
    assert "Traceback" not in result.output


def test_calibrate_with_a_missing_audits_file_is_a_clean_error(tmp_path: Path) -> None:
    args = [
        "calibrate",
        "-d",
        str(_kitti(tmp_path / "d")),
        "-a",
        "/nonexistent.csv",
        "-o",
        str(tmp_path / "c"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "/nonexistent.csv" in result.stderr and "Traceback" not in result.output
