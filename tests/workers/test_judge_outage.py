"""A judge that is rate-limited, broken or hanging never costs a frame its review: every chunk of the job is
stored with its heuristic findings, the questions the judge could not answer are marked needs_human, and
the job finishes. The chunk task's own code runs here, in this process, with Celery's retry replaced by
an immediate loop (the countdowns are the only thing left out); the judge is a respx-mocked endpoint."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import func, select

from agents.judge.testing import FAKE_BASE_URL, error_response
from gtqa.storage import ChunkStatus, JobStatus
from gtqa.storage.models import FindingRow
from workers import runtime as worker_runtime
from workers import tasks
from workers.runtime import WorkerRuntime

JUDGE = {"judge_base_url": FAKE_BASE_URL, "judge_api_key": "sk-test", "judge_max_retries": 0}


class _RetryError(Exception):
    pass


@dataclass
class _Request:
    retries: int = 0
    hostname: str = "test@host"
    id: str = "task-1"


@dataclass
class FakeTask:
    """What ``review_chunk_task`` uses of a bound Celery task: its request and ``retry``."""

    request: _Request = field(default_factory=_Request)
    countdowns: list[float] = field(default_factory=list)

    def retry(self, *, exc: BaseException, countdown: float) -> _RetryError:
        self.countdowns.append(countdown)
        return _RetryError()


def run_like_celery(chunk_id: int) -> tuple[dict[str, Any] | None, int]:
    """The task until it returns or raises for good, as Celery would run it (retries up to MAX_RETRIES);
    its result (None if it raised) and how many times it was retried."""
    task = FakeTask()
    while True:
        try:
            return tasks.review_chunk_task(task, chunk_id), task.request.retries  # type: ignore[arg-type,unused-ignore]
        except _RetryError:
            task.request.retries += 1
        except Exception:  # noqa: BLE001 - the task gave up for good: Celery would record the error
            return None, task.request.retries


@pytest.fixture
def judged(local_stack, monkeypatch):
    rt = WorkerRuntime(local_stack.settings(judge_rate_per_s=0, judge_timeout_s=0.5, **JUDGE))
    monkeypatch.setattr(worker_runtime, "current", lambda: rt)
    yield rt
    rt.close()


def _review_whole_job(local_stack, ingested, tracking_data) -> int:
    """Review a job of the first 24 frames (3 chunks) of KITTI tracking 0016, each chunk as a task."""
    few = tracking_data.model_copy(update={"frames": tracking_data.frames[:24]})
    job_id = ingested(local_stack, few, chunk_size=8)
    for chunk in local_stack.chunks(job_id):
        run_like_celery(chunk.id)
    return int(job_id)


def _assert_nothing_lost(local_stack, job_id: int) -> None:
    job = local_stack.job(job_id)
    chunks = local_stack.chunks(job_id)
    assert [c.status for c in chunks] == [ChunkStatus.done] * len(chunks), [c.last_error for c in chunks]
    assert job.status == JobStatus.done
    assert job.frames_done == job.frames_total > 0
    with local_stack.sessions() as session:
        stored = session.scalar(select(func.count()).where(FindingRow.job_id == job_id))
        needs_human = session.scalar(
            select(func.count()).where(FindingRow.job_id == job_id, FindingRow.needs_human.is_(True))
        )
    assert stored == job.findings_count > 0
    assert needs_human and needs_human > 0, "the questions the judge did not answer are marked for a human"


@pytest.mark.respx(base_url=FAKE_BASE_URL)
def test_a_storm_of_429s_still_reviews_every_frame(
    judged, local_stack, ingested, tracking_data, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=error_response(429, "slow down"))
    job_id = _review_whole_job(local_stack, ingested, tracking_data)
    assert route.called
    _assert_nothing_lost(local_stack, job_id)
    attempts = [c.attempts for c in local_stack.chunks(job_id)]
    assert max(attempts) == judged.settings.chunk_max_attempts, "rate-limited chunks were tried again"


@pytest.mark.respx(base_url=FAKE_BASE_URL)
def test_a_storm_of_500s_still_reviews_every_frame(
    judged, local_stack, ingested, tracking_data, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=error_response(500, "down"))
    job_id = _review_whole_job(local_stack, ingested, tracking_data)
    assert route.called
    _assert_nothing_lost(local_stack, job_id)


@pytest.mark.respx(base_url=FAKE_BASE_URL, assert_all_called=False)  # a hung call is never "called"
def test_a_hanging_judge_times_out_and_every_frame_is_still_reviewed(
    judged, local_stack, ingested, tracking_data, respx_mock: respx.MockRouter
) -> None:
    asked = []

    async def hang(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        await asyncio.sleep(3600)
        raise AssertionError("the judge's deadline should have ended this")

    respx_mock.post("/chat/completions").mock(side_effect=hang)
    job_id = _review_whole_job(local_stack, ingested, tracking_data)
    assert asked
    _assert_nothing_lost(local_stack, job_id)
