"""The commands on an Argoverse 2 log: ``gtqa scan`` reviews it under the shipped AV2 spec and says
why, ``gtqa evals inject`` refuses it (its families corrupt image boxes) before writing anything, and
the service's ingest picks the same spec for av2 data."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.spec_lookup import default_spec
from cli.main import app
from gtqa.settings import Settings
from gtqa.spec import compile_spec, shipped_spec_path
from tests.gtqa.av2_synthetic import SyntheticLog, moving_scene, write_log

runner = CliRunner()
SHARED_LOG_ID = "7fab2350-7eaf-3b7e-a39d-6937a4c1bede"


@pytest.fixture(autouse=True)
def _no_configured_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GTQA_SPEC_PATH", raising=False)


@pytest.mark.parametrize("fmt", [["--format", "av2"], []])
def test_scan_of_an_av2_log_uses_the_shipped_av2_spec_and_says_why(tmp_path: Path, fmt: list[str]) -> None:
    log = write_log(tmp_path / "src", SyntheticLog(moving_scene(6)))
    result = runner.invoke(app, ["scan", str(log), *fmt, "--top", "1"])
    assert result.exit_code == 0, result.output
    av2 = compile_spec(shipped_spec_path("av2"))
    assert av2.name != compile_spec(shipped_spec_path("kitti")).name
    assert f"spec {av2.name} {av2.hash[:12]} (the shipped spec for av2 data" in result.stderr


def test_scan_with_a_given_spec_names_that_reason_instead(tmp_path: Path) -> None:
    log = write_log(tmp_path / "src", SyntheticLog(moving_scene(3)))
    kitti = shipped_spec_path("kitti")
    result = runner.invoke(app, ["scan", str(log), "--format", "av2", "--spec", str(kitti), "--top", "1"])
    assert result.exit_code == 0, result.output
    assert f"spec {compile_spec(kitti).name} " in result.stderr and "given with --spec" in result.stderr


def test_ingest_picks_the_av2_spec_for_av2_data(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, spec_path=None)
    assert default_spec(settings, "av2").hash == compile_spec(shipped_spec_path("av2")).hash


@pytest.mark.parametrize("fmt", [["--format", "av2"], []])
def test_inject_refuses_av2_data_clearly_and_writes_nothing(
    shared_data: Path, tmp_path: Path, fmt: list[str]
) -> None:
    log = shared_data / "av2_sensor" / SHARED_LOG_ID
    out = tmp_path / "copy"
    result = runner.invoke(app, ["evals", "inject", str(log), *fmt, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "cannot inject into 'av2' data" in result.stderr and "LiDAR cuboid" in result.stderr
    assert not out.exists()
