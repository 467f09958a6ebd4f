"""``store_delivery``: the one path the CLI and the API take from a read delivery to a batch and job."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gtqa.domain import Dataset, FrameStream, InputProblem, ProblemLevel
from gtqa.formats import open_dataset
from gtqa.spec import CompiledSpec
from gtqa.storage import (
    Delivery,
    RefusedDeliveryError,
    batch_jobs,
    batch_record,
    kept_sources,
    list_batches,
    store_delivery,
)
from gtqa.storage.limits import column_length
from gtqa.storage.models import LabelRow

Sessions = sessionmaker[Session]
LINE = "{cls} 0.00 0 -1.58 10.00 150.00 60.00 220.00 1.50 1.60 3.90 1.00 1.60 12.00 -1.50\n"


def _kitti(root: Path, classes: list[str]) -> Path:
    """A KITTI object folder, one label file per class name (no images, no calibration)."""
    (root / "label_2").mkdir(parents=True)
    for f, cls in enumerate(classes):
        (root / "label_2" / f"{f:06d}.txt").write_text(LINE.format(cls=cls))
    return root


def _store(sessions: Sessions, stream: FrameStream, spec: CompiledSpec, home: Path, **kwargs: object) -> int:
    stored = store_delivery(sessions, stream, spec, home=home, chunk_size=2, **kwargs)  # type: ignore[arg-type]
    return stored[0].id


def test_a_delivery_is_stored_with_its_job_its_pinned_spec_and_its_kept_source(
    sessions: Sessions, spec: CompiledSpec, tmp_path: Path
) -> None:
    root, home = _kitti(tmp_path / "kitti", ["Car", "Van", "Car"]), tmp_path / "home"
    delivery = Delivery(vendor="v", source_path=str(root), idempotency_key="k1", job_options={"exclude": []})
    batch_id = _store(sessions, open_dataset(root, "kitti"), spec, home, delivery=delivery)
    with sessions() as session:
        batch, jobs = batch_record(session, batch_id), batch_jobs(session, batch_id)
    assert (batch.frame_count, batch.vendor, batch.source_path) == (3, "v", str(root))
    assert [(j.frames_total, j.chunks_total, j.spec_hash) for j in jobs] == [(3, 2, spec.hash)]
    assert (home / "specs" / f"{spec.hash}.md").is_file()
    kept = json.loads((kept_sources(home) / "batches" / f"{batch_id}.json").read_text())
    assert sorted(kept["files"]) == [f"label_2/00000{i}.txt" for i in range(3)]


def test_an_unstorable_record_refuses_the_delivery_naming_its_file_and_line(
    sessions: Sessions, spec: CompiledSpec, tmp_path: Path
) -> None:
    too_long = "C" * (column_length(LabelRow, "cls") + 1)  # what PostgreSQL refuses, SQLite would keep
    root = _kitti(tmp_path / "kitti", ["Car", too_long, "Car"])
    with pytest.raises(RefusedDeliveryError) as refused:
        _store(sessions, open_dataset(root, "kitti"), spec, tmp_path / "home")  # problems allowed
    [problem] = refused.value.problems
    assert (Path(problem.path).name, problem.line) == ("000001.txt", 1)
    with sessions() as session:
        assert list_batches(session) == []
    assert not (kept_sources(tmp_path / "home") / "batches").exists()


@pytest.mark.parametrize(
    ("level", "refuse", "stored"),
    [
        (ProblemLevel.warning, None, True),
        (ProblemLevel.warning, ProblemLevel.error, True),
        (ProblemLevel.warning, ProblemLevel.warning, False),  # the CLI's --strict
        (ProblemLevel.error, None, True),
        (ProblemLevel.error, ProblemLevel.error, False),  # the API without allow_problems
    ],
)
def test_reading_problems_are_kept_or_refused_by_level(
    sessions: Sessions,
    spec: CompiledSpec,
    make_dataset: Callable[..., Dataset],
    tmp_path: Path,
    level: ProblemLevel,
    refuse: ProblemLevel | None,
    stored: bool,
) -> None:
    problem = InputProblem(path="label_2/000009.txt", line=3, message="odd", level=level)
    stream = FrameStream.of(make_dataset(problems=(problem,)))
    try:
        _store(sessions, stream, spec, tmp_path / "home", refuse=refuse)
    except RefusedDeliveryError as exc:
        assert exc.problems == (problem,)
    with sessions() as session:
        batches = list_batches(session)
    assert [b.problems for b in batches] == ([(problem,)] if stored else [])


def test_a_delivery_without_frames_is_refused(sessions: Sessions, spec: CompiledSpec, tmp_path: Path) -> None:
    root = tmp_path / "kitti"
    (root / "label_2").mkdir(parents=True)
    with pytest.raises(RefusedDeliveryError, match="no frame"):
        _store(sessions, open_dataset(root, "kitti"), spec, tmp_path / "home")
    with sessions() as session:
        assert list_batches(session) == []
