"""KITTI object labels: the real data, unknowns, round trips, and the reader fixes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from gtqa.domain import Box2D, Dataset, Frame, Label, ProblemLevel
from gtqa.formats import load_dataset
from gtqa.formats.kitti import read_kitti, write_kitti

LINE = "Car 0.00 0 -1.58 100.00 150.00 200.00 220.00 1.50 1.60 3.90 1.00 1.60 20.00 -1.50"
UNKNOWN = "Pedestrian -1 -1 -10 450.04 176.42 470.08 217.96 -1 -1 -1 -1000 -1000 -1000 -10"


def _same_labels(a: Dataset, b: Dataset, ids: dict[str, str]) -> None:
    """Identical labels but for where they were read from; ``ids`` maps a's label ids to b's."""
    mapped = {ids[lab.id]: lab for lab in a.labels()}
    assert [lab.id for lab in b.labels()] == list(mapped)
    for lab in b.labels():
        assert lab.model_dump(exclude={"source", "id"}) == mapped[lab.id].model_dump(exclude={"source", "id"})


def test_the_real_object_data_reads_without_a_problem(shared_data: Path) -> None:
    dataset = load_dataset(shared_data / "kitti_object")
    assert dataset.problems == ()
    assert len(dataset.frames) == 17 and sum(len(f.labels) for f in dataset.frames) == 103
    classes = Counter(lab.cls for lab in dataset.labels())
    assert classes == {
        "Car": 40,
        "Pedestrian": 11,
        "Cyclist": 3,
        "Truck": 1,
        "Van": 1,
        "Misc": 1,
        "DontCare": 46,
    }
    assert {(f.width, f.height) for f in dataset.frames} == {(1224, 370)}
    assert [f.id for f in dataset.frames if f.calib] == ["000000", "000001", "000002"]
    dontcare = [lab for lab in dataset.labels() if lab.cls == "DontCare"]
    assert all(lab.cuboid is None and lab.alpha is None and lab.truncation is None for lab in dontcare)


def test_the_real_rechecked_data_reads_without_a_problem(shared_data: Path) -> None:
    dataset = load_dataset(shared_data / "kitti_rechecked")
    assert dataset.problems == ()
    assert len(dataset.frames) == 393 and all(f.image is None for f in dataset.frames)
    assert all(lab.cuboid is None and lab.occlusion is None for lab in dataset.labels())


def test_round_trip_of_the_real_data_gives_identical_labels(shared_data: Path, tmp_path: Path) -> None:
    for name in ("kitti_object", "kitti_rechecked"):
        dataset = read_kitti(shared_data / name)
        ids = write_kitti(dataset, tmp_path / name)
        assert all(old == new for old, new in ids.items())  # no blank lines: the same line indices
        again = read_kitti(tmp_path / name)
        _same_labels(dataset, again, ids)


def test_unknown_fields_read_as_none_and_write_back_as_kitti_unknowns(tmp_path: Path) -> None:
    (tmp_path / "label_2").mkdir()
    (tmp_path / "label_2" / "000007.txt").write_text(f"# a comment\n\n{UNKNOWN}\n{LINE}\n")
    dataset = read_kitti(tmp_path)
    ped, car = dataset.frame("000007").labels
    assert (ped.id, car.id) == ("000007:2", "000007:3")  # comments and blanks still count as lines
    assert (ped.truncation, ped.occlusion, ped.alpha, ped.cuboid) == (None, None, None, None)
    assert car.cuboid is not None and car.source is not None and car.source.line == 4
    ids = write_kitti(dataset, tmp_path / "out")
    assert ids == {"000007:2": "000007:0", "000007:3": "000007:1"}
    assert (tmp_path / "out" / "label_2" / "000007.txt").read_text().splitlines()[0] == (
        "Pedestrian -1 -1 -10 450.04 176.42 470.08 217.96 -1 -1 -1 -1000 -1000 -1000 -10"
    )
    _same_labels(dataset, read_kitti(tmp_path / "out"), ids)


def test_write_kitti_flattens_sequence_frame_ids_and_spaced_class_names(tmp_path: Path) -> None:
    label = Label(id="v/000003:1", frame="v/000003", cls="traffic light", box=Box2D(x1=1, y1=2, x2=3, y2=4))
    frame = Frame(id="v/000003", sequence="v", index=3, labels=(label,))
    dataset = Dataset(name="d", format="bdd", root=str(tmp_path), frames=(frame,))
    assert write_kitti(dataset, tmp_path / "out") == {"v/000003:1": "v_000003:0"}
    again = read_kitti(tmp_path / "out")
    assert again.problems == ()
    assert [(lab.id, lab.cls) for lab in again.labels()] == [("v_000003:0", "traffic_light")]


def test_frames_txt_is_read_as_text_with_its_problems_reported(tmp_path: Path) -> None:
    (tmp_path / "label_2").mkdir()
    for stem in ("000001", "000002"):
        (tmp_path / "label_2" / f"{stem}.txt").write_text(LINE + "\n")
    (tmp_path / "frames.txt").write_bytes(b"000002\n00000\xe9\n000001 000002\n")
    dataset = read_kitti(tmp_path)
    assert [f.id for f in dataset.frames] == ["000002", "000001"]  # listed order, once each
    (problem,) = dataset.problems
    assert (problem.path, problem.line) == (str(tmp_path / "frames.txt"), 2)
    assert "not UTF-8" in problem.message


def test_a_stray_nul_byte_costs_its_line_only(tmp_path: Path) -> None:
    (tmp_path / "label_2").mkdir()
    text = "\n".join([LINE] * 40 + ["Car 0 0 0 1 2\x00 3 4 1 1 1 1 1 1 0"] + [LINE] * 40)
    (tmp_path / "label_2" / "000001.txt").write_text(text)
    dataset = read_kitti(tmp_path)
    (problem,) = dataset.problems
    assert (problem.line, problem.level, problem.message) == (
        41,
        ProblemLevel.error,
        "binary data (a NUL byte)",
    )
    assert len(dataset.frames[0].labels) == 80
