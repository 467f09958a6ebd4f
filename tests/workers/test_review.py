"""The chunk task's body in this process, on a real database: what it does with chunks it must skip,
with errors that retrying cannot fix, and with a judge that rate-limits (respx-mocked endpoint)."""

from __future__ import annotations

import pytest
import respx

from agents.judge.testing import FAKE_BASE_URL, error_response
from gtqa.storage import ChunkStatus, JobStatus, claim_chunk, create_review_job, job_record
from workers.errors import JudgeRateLimitedError, SpecNotAvailableError
from workers.review import review_chunk
from workers.runtime import WorkerRuntime

JUDGE = {"judge_base_url": FAKE_BASE_URL, "judge_api_key": "sk-test", "judge_max_retries": 0}


@pytest.fixture
def runtime(local_stack):
    made: list[WorkerRuntime] = []

    def make(**overrides) -> WorkerRuntime:
        made.append(WorkerRuntime(local_stack.settings(judge_rate_per_s=0, **overrides)))
        return made[-1]

    yield make
    for rt in made:
        rt.close()


def test_a_chunk_leased_to_another_worker_or_done_is_skipped(runtime, local_stack, ingested, tracking_data):
    rt = runtime()
    job_id = ingested(local_stack, tracking_data, chunk_size=16)
    first, second = (c.id for c in local_stack.chunks(job_id)[:2])
    with local_stack.sessions.begin() as session:
        assert claim_chunk(session, first, "other@host/1", lease_s=60) is not None
    assert review_chunk(rt, first, "me@host/1").status == "skipped"
    done = review_chunk(rt, second, "me@host/2")
    assert (done.status, done.job_id) == ("done", job_id) and done.findings > 0
    assert review_chunk(rt, second, "me@host/3").status == "skipped"
    assert local_stack.chunks(job_id)[1].attempts == 1


def test_an_unknown_spec_fails_the_chunk_for_good(runtime, local_stack, ingested, tracking_data):
    rt = runtime()
    job_id = ingested(local_stack, tracking_data, chunk_size=1000)
    with local_stack.sessions.begin() as session:
        batch_id = job_record(session, job_id).batch_id
        stranger = create_review_job(session, batch_id, spec_hash="f" * 64, chunk_size=1000).id
    chunk = local_stack.chunks(stranger)[0]
    with pytest.raises(SpecNotAvailableError, match="GTQA_SPEC_PATH"):
        review_chunk(rt, chunk.id, "me@host/1")
    failed = local_stack.chunks(stranger)[0]
    assert failed.status == ChunkStatus.failed and "SpecNotAvailableError" in (failed.last_error or "")
    assert local_stack.job(stranger).status == JobStatus.failed


@pytest.mark.respx(base_url=FAKE_BASE_URL)
def test_a_rate_limited_judge_gives_the_chunk_back_for_a_retry(
    runtime, local_stack, ingested, tracking_data, respx_mock: respx.MockRouter
):
    route = respx_mock.post("/chat/completions").mock(return_value=error_response(429, "slow down"))
    rt = runtime(**JUDGE)
    job_id = ingested(local_stack, tracking_data, chunk_size=16)
    asked = None
    for chunk in local_stack.chunks(job_id):  # the first chunk with a flag uncertain enough to ask about
        try:
            review_chunk(rt, chunk.id, f"me@host/{chunk.id}")
        except JudgeRateLimitedError:
            asked = chunk.id
            break
    assert asked is not None and route.called, "no chunk asked the judge anything"
    chunk = next(c for c in local_stack.chunks(job_id) if c.id == asked)
    assert (chunk.status, chunk.attempts, chunk.findings_count) == (ChunkStatus.pending, 1, 0)
    assert "JudgeRateLimitedError" in (chunk.last_error or "")

    calls = route.call_count
    last = review_chunk(rt, asked, "me@host/last", accept_rate_limited=True)  # the task's last retry
    assert last.status == "done" and last.findings > 0
    assert route.call_count > calls, "failed questions are asked again (only verdicts are cached)"
    # (The stored findings do not record the judge's opinion or needs_human: storage has no columns
    # for them yet; those flags are stored with their heuristic score.)
