from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import Dataset, InputProblem, ProblemLevel
from gtqa.formats import load_dataset as read_dataset
from gtqa.spec import CompiledSpec
from gtqa.storage import IngestError, batch_record, ingest_batch, list_batches, load_dataset, load_frames
from gtqa.storage import ingest as ingest_module
from gtqa.storage.models import BatchRow, DatasetRow, FrameRow, LabelRow, PredictionRow

Sessions = sessionmaker[Session]
DatasetFactory = Callable[..., Dataset]


def _counts(session: Session) -> dict[str, int]:
    tables = {"batches": BatchRow, "frames": FrameRow, "labels": LabelRow, "predictions": PredictionRow}
    return {name: session.scalar(select(func.count()).select_from(t)) or 0 for name, t in tables.items()}


def test_a_batch_reads_back_as_the_dataset_it_was(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    problem = InputProblem(path="label_2/000009.txt", line=4, message="7 fields", level=ProblemLevel.error)
    dataset = make_dataset(problems=(problem,))
    with sessions.begin() as session:
        batch = ingest_batch(
            session, dataset, spec, vendor="acme", team="night shift", due_date=date(2026, 12, 1)
        )
    with sessions() as session:
        assert load_dataset(session, batch.id) == dataset
        record = batch_record(session, batch.id)
    assert (record.dataset, record.vendor, record.team, record.format) == (
        "kitti-mini",
        "acme",
        "night shift",
        "kitti",
    )
    assert (record.spec_hash, record.spec_version, record.due_date) == (
        spec.hash,
        spec.version,
        date(2026, 12, 1),
    )
    assert (record.frame_count, record.label_count, record.source_path) == (6, 18, "/data/kitti")
    assert record.problems == (problem,)  # reported, with file and line, not imported


def test_load_frames_returns_the_asked_frames_in_reading_order(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    dataset = make_dataset(frames=5)
    with sessions.begin() as session:
        batch = ingest_batch(session, dataset, spec)
    with sessions() as session:
        frames = load_frames(session, batch.id, ["000003", "000001"])
        assert [f.id for f in frames] == ["000001", "000003"]
        assert frames[1] == dataset.frame("000003")
        with pytest.raises(LookupError, match="000042"):
            load_frames(session, batch.id, ["000001", "000042"])


def test_two_deliveries_of_one_dataset_are_two_batches(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    with sessions.begin() as session:
        first = ingest_batch(session, make_dataset(), spec, vendor="acme")
        second = ingest_batch(session, make_dataset(), spec, vendor="other")
    with sessions() as session:
        assert [b.id for b in list_batches(session, dataset="kitti-mini")] == [first.id, second.id]
        assert session.scalar(select(func.count()).select_from(DatasetRow)) == 1


def test_a_failure_mid_ingest_stores_nothing_even_if_the_caller_commits(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_: object) -> None:
        raise RuntimeError("disk on fire")

    with sessions.begin() as session:
        kept = ingest_batch(session, make_dataset("kept"), spec)
        before = _counts(session)
        monkeypatch.setattr(ingest_module, "_insert_predictions", explode)  # after frames and labels
        with pytest.raises(RuntimeError, match="disk on fire"):
            ingest_batch(session, make_dataset("doomed", frames=4), spec)
        assert _counts(session) == before
    with sessions() as session:
        assert _counts(session) == {"batches": 1, "frames": 6, "labels": 18, "predictions": 6}
        assert session.scalars(select(BatchRow.id)).all() == [kept.id]


def test_duplicate_label_ids_are_refused_whole(
    sessions: Sessions, spec: CompiledSpec, make_dataset: DatasetFactory
) -> None:
    dataset = make_dataset(frames=3)
    frames = list(dataset.frames)
    clash = frames[2].labels[0].model_copy(update={"id": frames[0].labels[0].id})
    frames[2] = frames[2].model_copy(update={"labels": (clash, *frames[2].labels[1:])})
    with sessions.begin() as session, pytest.raises(IngestError, match="duplicate label ids 000000:0"):
        ingest_batch(session, dataset.model_copy(update={"frames": tuple(frames)}), spec)
    with sessions() as session:
        assert _counts(session) == {"batches": 0, "frames": 0, "labels": 0, "predictions": 0}


def test_unknown_batch_is_reported(sessions: Sessions) -> None:
    with sessions() as session, pytest.raises(LookupError, match="no batch 999"):
        batch_record(session, 999)


def test_real_kitti_tracking_with_detections_reads_back_exactly(
    sessions: Sessions, spec: CompiledSpec, shared_data: Path
) -> None:
    folder = shared_data / "kitti_tracking"
    dataset = read_dataset(folder, "kitti-tracking", [folder / "detections"])
    with sessions.begin() as session:
        batch = ingest_batch(session, dataset, spec)
    with sessions() as session:
        assert load_dataset(session, batch.id) == dataset
    assert batch.label_count == sum(len(f.labels) for f in dataset.frames) > 4000


def test_a_real_av2_log_reads_back_exactly(sessions: Sessions, spec: CompiledSpec, shared_data: Path) -> None:
    folder = shared_data / "av2_sensor" / "7fab2350-7eaf-3b7e-a39d-6937a4c1bede"
    dataset = read_dataset(folder, "av2")
    with sessions.begin() as session:
        batch = ingest_batch(session, dataset, spec)
    with sessions() as session:
        assert load_dataset(session, batch.id) == dataset  # the AV2 row and its city pose, in attributes
    assert batch.label_count == 11_364
