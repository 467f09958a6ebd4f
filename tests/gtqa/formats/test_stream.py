"""Streamed reading: frames are read as they are consumed, and the stream is the whole reading."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from gtqa.domain import InputProblem
from gtqa.formats import Reader, _text, attach_predictions, open_dataset
from gtqa.formats._text import iter_lines
from gtqa.formats.kitti import read_kitti
from gtqa.formats.kitti_tracking import read_kitti_tracking

LINE = "Car 0.00 0 -1.58 100.00 150.00 200.00 220.00 1.50 1.60 3.90 1.00 1.60 20.00 -1.50"
TRACK = "{frame} 1 " + LINE


def _kitti(root: Path, frames: int, bad: int | None = None) -> Path:
    (root / "label_2").mkdir(parents=True)
    for i in range(frames):
        text = "Car 1 2\n" if i == bad else f"{LINE}\n{LINE}\n"
        (root / "label_2" / f"{i:06d}.txt").write_text(text)
    return root


def test_a_kitti_frame_is_read_when_it_is_reached(tmp_path: Path) -> None:
    root = _kitti(tmp_path / "k", 5, bad=3)
    stream = open_dataset(root, "kitti")
    frames = iter(stream)
    first = [next(frames), next(frames)]
    (root / "label_2" / "000004.txt").write_text(f"{LINE}\n")  # not read yet: the stream sees this
    rest = list(frames)
    assert [f.id for f in first + rest] == [f"{i:06d}" for i in range(5)]
    assert [len(f.labels) for f in first + rest] == [2, 2, 2, 0, 1]
    assert [(p.path.endswith("000003.txt"), p.line) for p in stream.problems] == [(True, 1)]


def test_a_stream_cannot_be_read_twice(tmp_path: Path) -> None:
    stream = open_dataset(_kitti(tmp_path / "k", 2), "kitti")
    assert len(list(stream)) == 2
    with pytest.raises(RuntimeError, match="already read"):
        list(stream)


def test_kitti_tracking_streams_sequence_by_sequence(tmp_path: Path) -> None:
    (tmp_path / "t" / "label_02").mkdir(parents=True)
    for seq, last in (("0000", 2), ("0001", 1)):
        text = "".join(TRACK.format(frame=i) + "\n" for i in range(last + 1))
        (tmp_path / "t" / "label_02" / f"{seq}.txt").write_text(text)
    stream = open_dataset(tmp_path / "t", "kitti-tracking")
    frames = iter(stream)
    assert next(frames).id == "0000/000000"
    (tmp_path / "t" / "label_02" / "0001.txt").write_text("oops\n")  # the second sequence is not read yet
    assert [f.id for f in frames] == ["0000/000001", "0000/000002"]
    assert [p.line for p in stream.problems] == [1]


@pytest.mark.parametrize(
    ("name", "fmt", "read", "sources"),
    [
        ("kitti_tracking", "kitti-tracking", read_kitti_tracking, ["detections"]),
        ("kitti_object", "kitti", read_kitti, ["predictions/box2d.list", "stray"]),
    ],
)
def test_streamed_predictions_are_what_the_whole_reading_attaches(
    shared_data: Path, tmp_path: Path, name: str, fmt: str, read: Reader, sources: list[str]
) -> None:
    folder = shared_data / name
    stray = tmp_path / "stray"  # KITTI results naming frames the dataset lacks: one problem
    stray.mkdir(parents=True)
    (stray / "999999.txt").write_text(LINE + " 0.9\n")
    paths = [tmp_path / s if s == "stray" else folder / s for s in sources]
    whole = attach_predictions(read(folder), paths)
    streamed = open_dataset(folder, fmt, paths)
    assert tuple(streamed) == whole.frames
    assert tuple(streamed.problems) == whole.problems
    assert sum(len(f.predictions) for f in whole.frames) > 50
    assert any("name no frame" in p.message for p in whole.problems) == (fmt == "kitti")


def test_reading_a_label_file_allocates_a_piece_not_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "000000.txt"
    path.write_text(f"{LINE}\n" * 3)
    tracemalloc.start()
    try:
        lines = list(iter_lines(path, []))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [text for _, text in lines] == [LINE] * 3
    assert peak < 256 * 1024, peak  # 256 MiB, the cap, was allocated per file (and shrunk) before


def test_lines_split_across_pieces_are_the_lines_of_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_text, "_READ_PIECE", 5)
    monkeypatch.setattr(_text, "_BINARY_SNIFF", 3)
    data = b"\xef\xbb\xbfab c\r\nd\re\n\n# note\nf\xffg\r\r\nlast \r"
    path = tmp_path / "mixed.txt"
    path.write_bytes(data)
    problems: list[InputProblem] = []
    got = list(iter_lines(path, problems))
    expected = [(i, t.decode().strip()) for i, t in enumerate(data[3:].splitlines()) if i != 5]
    assert got == [(i, t) for i, t in expected if t and not t.startswith("#")]
    assert [(p.line, p.message[:10]) for p in problems] == [(6, "not UTF-8 ")]


def test_a_line_without_end_costs_the_line_cap_not_its_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_text, "MAX_LINE_BYTES", 1000)
    path = tmp_path / "000000.txt"
    path.write_bytes(f"{LINE}\n".encode() + b"9" * 200_000 + f"\n{LINE}\n".encode())
    problems: list[InputProblem] = []
    assert list(iter_lines(path, problems)) == [(0, LINE), (2, LINE)]
    assert [(p.line, p.message) for p in problems] == [
        (2, "a line longer than 1000 bytes, not a label line: skipped")
    ]
