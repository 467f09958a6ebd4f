"""A chunk run twice leaves one set of findings: duplicate messages are skipped, and a chunk an operator
runs again replaces its findings instead of adding to them (real worker processes)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gtqa.storage import requeue_chunk
from gtqa.storage.models import FindingRow
from workers.app import create_app
from workers.dispatch import enqueue_job

pytestmark = pytest.mark.slow


def _finding_ids(stack, job_id: int) -> set[int]:
    with stack.sessions() as session:
        return set(session.scalars(select(FindingRow.id).where(FindingRow.job_id == job_id)))


def test_duplicate_messages_and_reruns_leave_one_set_of_findings(
    stack, tracking, one_set_of_findings
) -> None:
    job_id = stack.submit(tracking, "-p", str(tracking / "detections"))
    app = create_app(stack.settings())
    assert enqueue_job(job_id, sessions=stack.sessions, app=app) == 14  # a second message per chunk
    worker = stack.start_worker("only", concurrency=2)
    stack.wait_job(job_id)
    one_set_of_findings(stack, job_id)
    assert all(c.attempts == 1 for c in stack.chunks(job_id)), "a duplicate message ran a chunk again"
    first_run = _finding_ids(stack, job_id)

    # The worker may still hold duplicate messages of the finished job; stopped, it cannot claim a
    # re-queued chunk before the re-run is counted (its unacknowledged messages come back later).
    worker.kill()
    with stack.sessions.begin() as session:  # an operator re-runs every chunk
        for chunk in stack.chunks(job_id):
            requeue_chunk(session, chunk.id)
    assert enqueue_job(job_id, sessions=stack.sessions, app=app) == 14
    stack.start_worker("again", concurrency=2)
    stack.wait_until("the re-run", lambda: all(c.status == "done" for c in stack.chunks(job_id)))
    stack.wait_job(job_id)
    one_set_of_findings(stack, job_id)
    assert not first_run & _finding_ids(stack, job_id), "the re-run replaced every finding"
