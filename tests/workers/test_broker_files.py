"""The embedded broker survives torn message files (kombu issue #1551): an empty and a truncated
message file planted in the queue folder while a real worker runs are moved to ``quarantine/`` and
logged; the worker carries on and the job completes with one set of findings. A sender never leaves a
partial file under a message's name."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest

from workers.app import create_app
from workers.broker import REVIEW_QUEUE, broker_folder, enqueue_chunks, waiting_messages

pytestmark = pytest.mark.slow  # a real worker reviews a whole sequence


def _plant(queue_folder: Path, content: bytes) -> str:
    # "0_" sorts before every real message (their names start with a monotonic clock in ms).
    name = f"0_{uuid.uuid4()}.{REVIEW_QUEUE}.msg"
    (queue_folder / name).write_bytes(content)
    return name


def test_an_empty_and_a_truncated_message_file_are_quarantined_and_the_worker_carries_on(
    embedded_stack, tracking, one_set_of_findings
) -> None:
    stack = embedded_stack
    job_id = stack.submit(tracking, "-p", str(tracking / "detections"))
    folder = broker_folder(stack.settings())
    whole = next((folder / "queue").glob(f"*.{REVIEW_QUEUE}.msg")).read_bytes()
    json.loads(whole)  # a real message parses
    stack.start_beat()
    worker = stack.start_worker("only")
    stack.wait_until("a chunk done", lambda: any(c.status == "done" for c in stack.chunks(job_id)))

    planted = {_plant(folder / "queue", b""), _plant(folder / "queue", whole[: len(whole) // 2])}
    stack.wait_until("the planted files taken", lambda: not planted & set(os.listdir(folder / "queue")))
    stack.wait_job(job_id)

    assert worker.popen.poll() is None, worker.tail()  # still running
    one_set_of_findings(stack, job_id)
    assert {p.name for p in (folder / "quarantine").iterdir()} == planted
    log = worker.log.read_text()
    assert all(f"message file {name} does not parse" in log for name in planted), worker.tail()
    assert "Unrecoverable error" not in log


def test_a_sent_message_appears_whole_under_its_name_and_leaves_no_temporary_file(embedded_stack):
    settings = embedded_stack.settings()
    app = create_app(settings)
    assert enqueue_chunks(range(1, 6), app=app) == 5
    folder = broker_folder(settings)
    files = sorted((folder / "queue").glob(f"*.{REVIEW_QUEUE}.msg"))
    assert len(files) == waiting_messages(app) == 5
    assert all(json.loads(f.read_bytes())["headers"]["task"] == "gtqa.review_chunk" for f in files)
    assert list((folder / "tmp").iterdir()) == []
