"""KITTI tracking labels: the real sequence, truncation levels, round trips, and the reader fixes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from gtqa.domain import Dataset
from gtqa.formats import load_dataset
from gtqa.formats.kitti_tracking import read_kitti_tracking, write_kitti_tracking

LINE = "{f} {t} Pedestrian {trunc} 1 -1.00 100.00 150.00 130.00 220.00 1.70 0.60 0.80 1.00 1.60 15.00 0.10"
DONTCARE = "{f} -1 DontCare -1 -1 -10.000000 219.31 188.49 245.50 218.56 -1000 -1000 -1000 -10 -1 -1 -1"


def _same_labels(a: Dataset, b: Dataset, ids: dict[str, str]) -> None:
    mapped = {ids[lab.id]: lab for lab in a.labels()}
    assert [lab.id for lab in b.labels()] == list(mapped)
    for lab in b.labels():
        assert lab.model_dump(exclude={"source", "id"}) == mapped[lab.id].model_dump(exclude={"source", "id"})


def test_the_real_sequence_reads_without_a_problem(shared_data: Path) -> None:
    dataset = load_dataset(shared_data / "kitti_tracking")
    assert (dataset.format, dataset.problems) == ("kitti-tracking", ())
    assert len(dataset.frames) == 209 and sum(len(f.labels) for f in dataset.frames) == 4145
    assert len({lab.track_id for lab in dataset.labels() if lab.track_id is not None}) == 28
    assert [f.id for f in dataset.frames if f.image] == ["0016/000002", "0016/000007", "0016/000012"]
    assert all(f.calib is not None for f in dataset.frames)
    dontcare = [lab for lab in dataset.labels() if lab.cls == "DontCare"]
    assert len(dontcare) == 1010
    assert all(lab.cuboid is None and lab.track_id is None for lab in dontcare)  # -1000 sentinels


def test_round_trip_of_the_real_sequence_gives_identical_labels(shared_data: Path, tmp_path: Path) -> None:
    dataset = read_kitti_tracking(shared_data / "kitti_tracking")
    ids = write_kitti_tracking(dataset, tmp_path)
    again = read_kitti_tracking(tmp_path)
    assert again.problems == ()
    _same_labels(dataset, again, ids)


def test_truncation_levels_map_to_fractions_and_back(tmp_path: Path) -> None:
    (tmp_path / "label_02").mkdir()
    lines = [LINE.format(f=0, t=1, trunc=level) for level in (0, 1, 2)] + [DONTCARE.format(f=2)]
    (tmp_path / "label_02" / "0003.txt").write_text("\n".join(lines) + "\n")
    dataset = read_kitti_tracking(tmp_path)
    labels = list(dataset.labels())
    assert [lab.truncation for lab in labels] == [0.0, 0.5, 1.0, None]
    assert [lab.attributes for lab in labels] == [{"truncation_level": n} for n in (0, 1, 2)] + [{}]
    assert [f.id for f in dataset.frames] == ["0003/000000", "0003/000001", "0003/000002"]
    ids = write_kitti_tracking(dataset, tmp_path / "out")
    written = (tmp_path / "out" / "label_02" / "0003.txt").read_text().splitlines()
    assert [line.split()[3] for line in written] == ["0", "1", "2", "-1"]
    _same_labels(dataset, read_kitti_tracking(tmp_path / "out"), ids)


def test_image_names_that_are_not_ascii_numbers_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "label_02").mkdir()
    (tmp_path / "label_02" / "0000.txt").write_text(LINE.format(f=1, t=1, trunc=0) + "\n")
    images = tmp_path / "image_02" / "0000"
    images.mkdir(parents=True)
    for name in ("000001.png", "²³.png", "9999999999.png", "cover.png"):
        cv2.imwrite(str(images / name), np.zeros((4, 6, 3), dtype=np.uint8))
    dataset = read_kitti_tracking(tmp_path)
    assert dataset.problems == ()
    assert [(f.id, f.width) for f in dataset.frames] == [("0000/000000", None), ("0000/000001", 6)]
