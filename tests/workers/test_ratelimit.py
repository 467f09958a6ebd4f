"""The judge's request rate is shared by every worker process: token buckets in Redis and in a SQLite
file, taken from concurrently by several processes, and the judge client of a worker taking a token
per HTTP request (respx-mocked endpoint)."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from pathlib import Path

import httpx
import pytest
import redis
import respx

from agents.judge.testing import FAKE_BASE_URL, completion_response, flag_request, sample_label
from workers.ratelimit import (
    RedisTokenBucket,
    SqliteTokenBucket,
    TokenBucket,
    bucket_from_settings,
    rate_limited_http_client,
    wait_for_token,
)
from workers.runtime import WorkerRuntime

RATE, BURST, PROCESSES, TAKES = 20.0, 4, 3, 8


def _make(kind: str, where: str) -> TokenBucket:
    if kind == "redis":
        return RedisTokenBucket(redis.Redis.from_url(where), rate=RATE, burst=BURST, key="gtqa-test:bucket")
    return SqliteTokenBucket(Path(where), rate=RATE, burst=BURST)


def _take_many(kind: str, where: str, start: float) -> None:
    bucket = _make(kind, where)  # a process of its own, with a connection of its own
    while time.time() < start:
        time.sleep(0.001)
    for _ in range(TAKES):
        asyncio.run(wait_for_token(bucket))


@pytest.fixture(params=["redis", "sqlite"])
def bucket_at(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    if request.param == "redis":
        return "redis", request.getfixturevalue("redis_db")[0]
    return "sqlite", str(tmp_path / "bucket.sqlite")


def test_processes_together_stay_under_the_rate(bucket_at: tuple[str, str]) -> None:
    kind, where = bucket_at
    _make(kind, where)  # create the table / load the script before the clock starts
    ctx = multiprocessing.get_context("fork")
    start = time.time() + 0.5
    procs = [ctx.Process(target=_take_many, args=(kind, where, start)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    elapsed = time.time() - start
    floor = (PROCESSES * TAKES - BURST) / RATE  # the burst is free, the rest comes at RATE per second
    assert floor * 0.95 <= elapsed < floor + 2.0, (elapsed, floor)


def test_an_empty_bucket_says_how_long_to_wait(bucket_at: tuple[str, str]) -> None:
    bucket = _make(*bucket_at)
    assert [bucket.take() for _ in range(BURST)] == [0.0] * BURST
    wait = bucket.take()
    assert 0.0 < wait <= 1.0 / RATE + 1e-6
    time.sleep(wait + 0.01)
    assert bucket.take() == 0.0


@pytest.mark.respx(base_url=FAKE_BASE_URL)
def test_each_judge_request_of_a_worker_takes_a_token(local_stack, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=completion_response())
    settings = local_stack.settings(
        judge_base_url=FAKE_BASE_URL, judge_api_key="sk-test", judge_rate_per_s=10.0, judge_rate_burst=1
    )
    assert bucket_from_settings(settings) is not None
    assert bucket_from_settings(settings.model_copy(update={"judge_rate_per_s": 0.0})) is None
    rt = WorkerRuntime(settings)
    try:
        judge = rt.new_judge()
        assert judge is not None
        requests = [flag_request(sample_label(x1=10.0 * i)) for i in range(6)]  # no cache hits
        start = time.perf_counter()
        results = rt.run(judge.ajudge_many(requests))
        elapsed = time.perf_counter() - start
    finally:
        rt.close()
    assert route.call_count == 6 and all(r.usage.prompt_tokens > 0 for r in results), "all answered"
    assert elapsed >= 0.5 * 0.95, "6 requests at 10/s with a burst of 1 take at least 0.5 s"


def test_the_http_client_waits_for_a_token_before_each_request(tmp_path: Path) -> None:
    bucket = SqliteTokenBucket(tmp_path / "b.sqlite", rate=20.0, burst=1)

    async def send(n: int) -> float:
        with respx.mock(base_url="http://endpoint.test") as mock:
            mock.get("/ping").mock(return_value=httpx.Response(200))
            async with rate_limited_http_client(bucket) as client:
                start = time.perf_counter()
                for _ in range(n):
                    (await client.get("http://endpoint.test/ping")).raise_for_status()
                return time.perf_counter() - start

    assert asyncio.run(send(1)) < 0.05
    assert asyncio.run(send(5)) >= 4 / 20.0 * 0.95
