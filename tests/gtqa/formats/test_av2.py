"""The Argoverse 2 reader and writer: the shared real log, a lossless round trip, and bad input."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow.feather as feather
import pytest
from av2_synthetic import LOG, SyntheticLog, moving_scene, write_log

from gtqa.domain import InputFormatError, ProblemLevel
from gtqa.formats import detect_format, load_dataset
from gtqa.formats.av2 import read_av2, write_av2

SHARED_LOG_ID = "7fab2350-7eaf-3b7e-a39d-6937a4c1bede"


def test_the_shared_log_reads_as_156_sweeps_of_real_cuboid_tracks(shared_data: Path) -> None:
    SHARED_LOG = shared_data / "av2_sensor" / SHARED_LOG_ID
    data = load_dataset(SHARED_LOG)
    labels = list(data.labels())
    assert data.format == "av2" and not data.problems
    assert len(data.frames) == 156 and len(labels) == 11_364
    assert len({lab.track_id for lab in labels}) == 114
    assert data.frames[0].id == f"{SHARED_LOG.name}/{labels[0].attributes['timestamp_ns']}"
    assert labels[0].id == f"{SHARED_LOG.name}:0" and "city_x" in labels[0].attributes
    assert "ground_z" in labels[0].attributes
    swept = [f for f in data.frames if f.labels and "sweep" in f.labels[0].attributes]
    assert len(swept) == 2


def test_a_log_written_back_unchanged_holds_the_same_rows(tmp_path: Path) -> None:
    source = write_log(tmp_path / "in", SyntheticLog(moving_scene(5)))
    data = read_av2(source)
    ids = write_av2(data, tmp_path / "out")
    original = feather.read_table(source / "annotations.feather")
    written = feather.read_table(tmp_path / "out" / LOG / "annotations.feather")
    assert written.schema.remove_metadata() == original.schema.remove_metadata()
    assert written.to_pylist() == original.to_pylist()
    assert ids == {lab.id: lab.id for lab in data.labels()}
    again = read_av2(tmp_path / "out" / LOG)
    assert [lab.attributes for lab in again.labels()] == [lab.attributes for lab in data.labels()]


def test_a_folder_of_logs_is_recognised_and_read_log_by_log(tmp_path: Path) -> None:
    write_log(tmp_path, SyntheticLog(moving_scene(3)))
    assert detect_format(tmp_path) == "av2"
    assert len(load_dataset(tmp_path).frames) == 3


def _two_logs(tmp_path: Path) -> tuple[Path, Path]:
    good = write_log(tmp_path / "a", SyntheticLog(moving_scene(4)))
    bad = write_log(tmp_path / "b", SyntheticLog(moving_scene(4)))
    root = tmp_path / "logs"
    root.mkdir()
    shutil.move(good, root / "good")
    shutil.move(bad, root / "bad")
    return root / "good", root / "bad"


def _problems_of(root: Path) -> tuple[int, list[str]]:
    data = read_av2(root)
    return len(list(data.labels())), [str(p) for p in data.problems]


def test_a_missing_annotations_file_is_named_and_the_other_logs_still_read(tmp_path: Path) -> None:
    good, bad = _two_logs(tmp_path)
    (bad / "annotations.feather").unlink()
    n, problems = _problems_of(good.parent)
    assert n == 12 and any("bad/annotations.feather" in p and "missing" in p for p in problems)


def test_a_truncated_feather_file_is_named_and_the_other_logs_still_read(tmp_path: Path) -> None:
    good, bad = _two_logs(tmp_path)
    path = bad / "annotations.feather"
    path.write_bytes(path.read_bytes()[:300])
    n, problems = _problems_of(good.parent)
    assert n == 12 and any("bad/annotations.feather" in p and "unreadable" in p for p in problems)


def test_annotations_without_poses_are_read_in_the_ego_frame_with_the_poses_file_named(
    tmp_path: Path,
) -> None:
    folder = write_log(tmp_path, SyntheticLog(moving_scene(4), poses=False))
    data = read_av2(folder)
    assert len(list(data.labels())) == 12
    assert all("city_x" not in lab.attributes for lab in data.labels())
    assert any("city_SE3_egovehicle.feather" in str(p) for p in data.problems)


def test_a_nan_quaternion_skips_that_cuboid_naming_file_and_line(tmp_path: Path) -> None:
    rows = moving_scene(4)
    rows[2][1].yaw = float("nan")
    data = read_av2(write_log(tmp_path, SyntheticLog(rows)))
    assert len(list(data.labels())) == 11
    (problem,) = data.problems
    assert problem.path.endswith("annotations.feather") and problem.line == 2 * 3 + 2
    assert "quaternion" in problem.message and problem.level == ProblemLevel.error


def test_a_sweep_without_annotations_is_named_and_the_annotated_sweeps_still_read(tmp_path: Path) -> None:
    points = np.zeros((10, 3))
    data = read_av2(write_log(tmp_path, SyntheticLog(moving_scene(3), sweeps={1: points, 7: points})))
    assert len(list(data.labels())) == 9
    (problem,) = data.problems
    assert problem.level == ProblemLevel.warning and problem.path.endswith(".feather")
    assert "without annotations" in problem.message and "sensors/lidar" in problem.path


def test_a_folder_without_any_log_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="not an AV2 log"):
        read_av2(tmp_path)
