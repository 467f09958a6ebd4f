"""``gtqa submit``: a dataset becomes one batch and one job whose chunks wait in the broker, or, when a
file is bad, nothing at all (the real command, on the embedded database and broker)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from gtqa.storage.limits import column_length
from gtqa.storage.models import BatchRow, JobChunkRow, LabelRow
from workers.app import create_app
from workers.broker import REVIEW_QUEUE, waiting_messages

pytestmark = pytest.mark.slow  # a subprocess each


def test_submit_stores_the_batch_and_queues_every_chunk(embedded_stack, tracking):
    stack = embedded_stack
    done = stack.gtqa(
        "submit", str(tracking), "-p", str(tracking / "detections"),
        "--vendor", "acme", "--team", "night-shift", "--due", "2026-12-24",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "job 1: 14 of 14 chunks sent to the workers" in done.stdout
    with stack.sessions() as session:
        batch = session.scalars(select(BatchRow)).one()
        chunks = session.scalar(select(func.count()).select_from(JobChunkRow))
    assert (batch.vendor, batch.team, batch.due_date) == ("acme", "night-shift", date(2026, 12, 24))
    assert (batch.frame_count, batch.label_count, chunks) == (209, 4145, 14)
    assert waiting_messages(create_app(stack.settings()), REVIEW_QUEUE) == 14


def test_a_bad_file_is_reported_and_nothing_is_stored(embedded_stack, tmp_path):
    stack = embedded_stack
    broken = tmp_path / "annotations.json"
    broken.write_text('{"images": [{"id": 1, "file_name": "a.png"', encoding="utf-8")
    done = stack.gtqa("submit", str(broken), "--format", "coco")
    assert done.returncode == 2 and "not imported" in done.stderr and "annotations.json" in done.stderr
    assert _batches(stack) == 0 and not list(stack.home.glob("broker/queue/*.msg"))


def test_unreadable_records_are_skipped_and_reported_or_refused_with_strict(embedded_stack, tmp_path):
    stack = embedded_stack
    labels = tmp_path / "kitti" / "label_2"
    labels.mkdir(parents=True)
    good = "Car 0.00 0 -1.58 100.00 150.00 200.00 220.00 1.5 1.6 3.9 1.0 1.6 20.0 -1.5"
    (labels / "000001.txt").write_text(f"{good}\nCar not a number\n", encoding="utf-8")
    refused = stack.gtqa("submit", str(tmp_path / "kitti"), "--format", "kitti", "--strict")
    assert refused.returncode == 2 and "000001.txt" in refused.stderr and "--strict" in refused.stderr
    assert _batches(stack) == 0
    done = stack.gtqa("submit", str(tmp_path / "kitti"), "--format", "kitti")
    assert done.returncode == 0 and "skipped" in done.stderr and "1 input problems" in done.stderr
    with stack.sessions() as session:
        batch = session.scalars(select(BatchRow)).one()
    assert (batch.label_count, len(batch.problems)) == (1, 1)


def test_a_record_the_database_cannot_store_is_refused_with_its_file_and_line(embedded_stack, tmp_path):
    """The CLI takes the API's path (``store_delivery``): a class name longer than its column is refused
    with file:line and nothing is stored (SQLite would have kept it; PostgreSQL raised a DataError)."""
    stack = embedded_stack
    labels = tmp_path / "kitti" / "label_2"
    labels.mkdir(parents=True)
    cls = "C" * (column_length(LabelRow, "cls") + 1)
    line = "0.00 0 -1.58 100.00 150.00 200.00 220.00 1.5 1.6 3.9 1.0 1.6 20.0 -1.5"
    (labels / "000001.txt").write_text(f"Car {line}\n{cls} {line}\n", encoding="utf-8")
    refused = stack.gtqa("submit", str(tmp_path / "kitti"), "--format", "kitti")
    assert refused.returncode == 2 and "000001.txt:2" in refused.stderr and "not imported" in refused.stderr
    assert _batches(stack) == 0 and not list(stack.home.glob("broker/queue/*.msg"))


def test_a_bad_due_date_is_refused(embedded_stack, tracking):
    done = embedded_stack.gtqa("submit", str(tracking), "--due", "24/12/2026")
    assert done.returncode == 2 and "YYYY-MM-DD" in done.stderr


def test_a_database_at_an_old_revision_is_refused(embedded_stack, tracking):
    done = embedded_stack.gtqa("submit", str(tracking), "--no-migrate")
    assert done.returncode == 2 and "python -m gtqa.storage upgrade" in done.stderr
    assert _batches(embedded_stack) == 0


def _batches(stack) -> int:
    from sqlalchemy.exc import OperationalError

    try:
        with stack.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(BatchRow)) or 0)
    except OperationalError:  # no tables: never migrated, so nothing stored
        return 0
