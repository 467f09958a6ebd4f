"""The service survives losing a worker mid-chunk and losing the broker's messages: real ``gtqa worker``
and ``gtqa beat`` processes, real brokers and databases; the job completes with exactly the findings
of an in-process review, one set per frame."""

from __future__ import annotations

import time

import pytest
import redis

pytestmark = pytest.mark.slow


def _pending(stack, job_id: int) -> int:
    return sum(c.status == "pending" for c in stack.chunks(job_id))


def test_a_worker_killed_mid_chunk_loses_nothing(stack, tracking, one_set_of_findings) -> None:
    job_id = stack.submit(tracking, "-p", str(tracking / "detections"), "--vendor", "acme")
    stack.start_beat()
    first = stack.start_worker("first")
    killed = stack.wait_fresh_claim(job_id, "first@", min_done=2)
    first.kill()  # SIGKILL to the worker and its pool child, mid-chunk
    chunk = next(c for c in stack.chunks(job_id) if c.id == killed)
    assert (chunk.status, chunk.lease_owner.split("/")[0]) == ("running", "first@test"), "killed mid-chunk"
    assert _pending(stack, job_id) > 0, "the kill must leave work for the second worker"

    stack.start_worker("second")
    stack.wait_job(job_id)
    one_set_of_findings(stack, job_id)
    redone = next(c for c in stack.chunks(job_id) if c.id == killed)
    assert redone.attempts == 2 and redone.lease_owner.startswith("second@test/")
    assert all(c.attempts == 1 for c in stack.chunks(job_id) if c.id != killed)


def test_a_flushed_redis_is_refilled_by_the_reconciler(
    private_redis_stack, tracking, one_set_of_findings
) -> None:
    stack = private_redis_stack  # a server of its own: FLUSHALL must not touch anyone else's data
    job_id = stack.submit(tracking, "-p", str(tracking / "detections"))
    stack.start_beat()
    stack.start_worker("only")
    stack.wait_until("two chunks done", lambda: sum(c.status == "done" for c in stack.chunks(job_id)) >= 2)
    stack.redis_client.flushall()  # every message, binding and unacknowledged delivery is gone
    assert _pending(stack, job_id) > 0, "the flush must lose messages of pending chunks"
    assert stack.redis_client.llen("gtqa.review") == 0

    stack.wait_job(job_id)
    one_set_of_findings(stack, job_id)
    assert all(c.attempts == 1 for c in stack.chunks(job_id)), "nothing was run twice"


def test_a_restarted_redis_loses_its_messages_and_the_job_still_completes(
    private_redis_stack, private_redis, tracking, one_set_of_findings
) -> None:
    stack = private_redis_stack
    job_id = stack.submit(tracking, "-p", str(tracking / "detections"))
    stack.start_beat()
    stack.start_worker("only")
    stack.wait_until("two chunks done", lambda: sum(c.status == "done" for c in stack.chunks(job_id)) >= 2)
    private_redis.stop()  # no persistence: a restart is an empty broker, and every connection drops
    assert _pending(stack, job_id) > 0
    time.sleep(1.0)
    private_redis.start()
    client = redis.Redis.from_url(private_redis.url)
    assert client.llen("gtqa.review") == 0
    client.close()

    stack.wait_job(job_id, timeout=100)
    one_set_of_findings(stack, job_id)
