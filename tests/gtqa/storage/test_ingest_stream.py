"""A delivery is stored as it is read, a slice at a time: memory does not grow with the batch."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import Dataset, FrameStream, Requirement
from gtqa.formats import load_dataset as read_dataset
from gtqa.formats import open_dataset
from gtqa.review import dataset_stats, plan_checks, stream_plan
from gtqa.spec import CompiledSpec
from gtqa.storage import (
    IngestError,
    Screen,
    batch_record,
    has_predictions,
    ingest_batch,
    iter_frames,
    load_dataset,
)
from gtqa.storage.models import BatchRow, FrameRow

Sessions = sessionmaker[Session]
DatasetFactory = Callable[..., Dataset]
LINE = "Car 0.00 0 -1.58 {x1}.00 150.00 {x2}.00 220.00 1.50 1.60 3.90 1.00 1.60 {z}.00 -1.50"
SLICE = 25  # frames per insert, small so that a test batch spans many slices


def _kitti(root: Path, frames: int, labels: int = 6) -> Path:
    """A KITTI object folder of ``frames`` label files (no images, no calibration)."""
    (root / "label_2").mkdir(parents=True)
    for f in range(frames):
        text = "".join(LINE.format(x1=10 * i, x2=10 * i + 50, z=5 + f % 50) + "\n" for i in range(labels))
        (root / "label_2" / f"{f:06d}.txt").write_text(text)
    return root


def _peak_ingest(sessions: Sessions, spec: CompiledSpec, root: Path) -> int:
    """Peak bytes allocated by Python while reading and storing ``root``, committed."""
    tracemalloc.reset_peak()
    start, _ = tracemalloc.get_traced_memory()
    with sessions.begin() as session:
        ingest_batch(session, open_dataset(root, "kitti"), spec, slice_frames=SLICE)
    return tracemalloc.get_traced_memory()[1] - start


def test_ingest_memory_is_bounded_by_the_slice_not_the_batch(
    sessions: Sessions, spec: CompiledSpec, tmp_path: Path
) -> None:
    small, large = _kitti(tmp_path / "small", 60), _kitti(tmp_path / "large", 600)
    _peak_ingest(sessions, spec, _kitti(tmp_path / "warm", 2))  # statement caches, first connection
    tracemalloc.start()
    try:
        peaks = [_peak_ingest(sessions, spec, root) for root in (small, large)]
    finally:
        tracemalloc.stop()
    # Held whole, ten times the frames cost about ten times the memory; streamed, only the ids kept
    # for the duplicate check grow (a few dozen bytes a label against kilobytes a label in a slice).
    assert peaks[1] < 3 * peaks[0], peaks
    with sessions() as session:
        assert session.scalar(select(func.sum(BatchRow.frame_count))) == 662
        assert session.scalar(select(func.count()).select_from(FrameRow)) == 662


def test_a_streamed_batch_reads_back_as_the_whole_reading(
    sessions: Sessions, spec: CompiledSpec, tmp_path: Path
) -> None:
    root = _kitti(tmp_path / "k", 70, labels=3)
    (root / "label_2" / "000042.txt").write_text("Car 1 2\n")  # a problem met mid-stream
    with sessions.begin() as session:
        batch = ingest_batch(session, open_dataset(root, "kitti"), spec, slice_frames=SLICE)
    with sessions() as session:
        assert load_dataset(session, batch.id) == read_dataset(root, "kitti")
        record = batch_record(session, batch.id)
    assert (record.frame_count, record.label_count, len(record.problems)) == (70, 69 * 3, 1)


def test_a_duplicate_in_a_later_slice_leaves_nothing_stored(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    frames = make_dataset(frames=60).frames
    stream = FrameStream("late-dupe", "kitti", "/data", [*frames, frames[3]])  # in the third slice
    with sessions.begin() as session, pytest.raises(IngestError, match="duplicate frame ids 000003"):
        ingest_batch(session, stream, spec, slice_frames=SLICE)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(FrameRow)) == 0
        assert session.scalar(select(func.count()).select_from(BatchRow)) == 0


def _plan_peak(sessions: Sessions, spec: CompiledSpec, batch_id: int) -> int:
    tracemalloc.reset_peak()
    start, _ = tracemalloc.get_traced_memory()
    with sessions() as session:
        stream_plan(iter_frames(session, batch_id, page=SLICE), spec)
    return tracemalloc.get_traced_memory()[1] - start


def test_the_plan_statistics_are_read_a_page_at_a_time(
    sessions: Sessions, spec: CompiledSpec, tmp_path: Path
) -> None:
    ids = []
    for name, frames in (("warm", 2), ("small", 60), ("large", 600)):
        with sessions.begin() as session:
            batch = ingest_batch(session, open_dataset(_kitti(tmp_path / name, frames), "kitti"), spec)
            ids.append(batch.id)
    _plan_peak(sessions, spec, ids[0])
    tracemalloc.start()
    try:
        peaks = [_plan_peak(sessions, spec, batch_id) for batch_id in ids[1:]]
    finally:
        tracemalloc.stop()
    assert peaks[1] < 3 * peaks[0], peaks  # the whole batch read (load_dataset) grew about tenfold


def test_the_streamed_plan_is_the_plan_of_the_whole_batch(
    sessions: Sessions, spec: CompiledSpec, shared_data: Path
) -> None:
    folder = shared_data / "kitti_tracking"
    with sessions.begin() as session:
        batch = ingest_batch(session, read_dataset(folder, "kitti-tracking", [folder / "detections"]), spec)
    with sessions() as session:
        whole = load_dataset(session, batch.id)
        assert list(iter_frames(session, batch.id, page=7, predictions=True)) == list(whole.frames)
        have = [Requirement.predictions] if has_predictions(session, batch.id) else []
        checks, stats = stream_plan(
            iter_frames(session, batch.id, page=100), spec, None, ["pred_bad_box"], have=have
        )
    expected, _ = plan_checks(whole, None, ["pred_bad_box"])
    assert [c.id for c in checks] == [c.id for c in expected] and "missing_object" in {c.id for c in checks}
    assert stats == dataset_stats(whole, spec) and stats.n_labels > 3000


def test_a_screened_stream_stops_passing_frames_at_the_first_refusal_and_reads_on(tmp_path: Path) -> None:
    root = _kitti(tmp_path / "k", 6, labels=1)
    (root / "label_2" / "000002.txt").write_text("Car 1 2\n")  # a reading error: refused unless allowed
    (root / "label_2" / "000004.txt").write_text("x" * 100 + LINE[3:].format(x1=1, x2=9, z=9) + "\n")
    screen = Screen(open_dataset(root, "kitti"), allow_problems=False)
    passed = [f.id for f in screen.stream]
    assert passed == ["000000", "000001"] and screen.frames == 6  # read to the end all the same
    refused = screen.refusals()
    assert [(Path(p.path).name, p.line) for p in refused] == [("000004.txt", 1), ("000002.txt", 1)]
    allowed = Screen(open_dataset(root, "kitti"), allow_problems=True)
    assert [f.id for f in allowed.stream] == ["000000", "000001", "000002", "000003"]
