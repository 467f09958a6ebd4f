"""``gtqa evals replay`` with the start's training data: refused, with the calibration file named, when
the sources given are not what the calibration was fitted on, or when the start is the spec's priors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()
SHIPPED = Path(__file__).resolve().parents[2] / "specs" / "kitti.calibration.json"


def _args(root: Path, out: Path) -> list[str]:
    return ["evals", "replay", str(root), "-f", "kitti", "-p", str(root / "pred_2"),
            "--audits", str(root / "recheck.csv"), "--rounds", "1", "--out", str(out)]  # fmt: skip


def test_start_data_that_is_not_the_calibrations_is_refused(shared_data: Path, tmp_path: Path) -> None:
    root = shared_data / "kitti_rechecked"
    # The shipped calibration was fitted on the re-check with two detectors and injected tracking copies:
    # the re-check with one detector alone is not its data.
    start = ["--start-dataset", str(root), "--start-audits", str(root / "recheck.csv"),
             "--start-predictions", f"1:{root / 'pred_2'}"]  # fmt: skip
    result = runner.invoke(app, [*_args(root, tmp_path / "r.json"), "--calibration", str(SHIPPED), *start])
    assert result.exit_code == 2, result.output
    assert "kitti.calibration.json" in result.output and "training hash" in result.output
    assert not (tmp_path / "r.json").exists()
    # The spec's priors have no training data to give.
    result = runner.invoke(app, [*_args(root, tmp_path / "r.json"), *start])
    assert result.exit_code == 2 and "spec's priors" in result.output
