"""The verdict cache: a second identical run costs no HTTP call; a new prompt version, a changed rule, image
or label misses; failures are not cached; several processes can share the file."""

from __future__ import annotations

import asyncio
import multiprocessing
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import respx

from agents.judge import JudgeRequest, JudgeResult, RuleText, VerdictCache, build_judge
from agents.judge.prompts import PROMPTS_DIR
from agents.judge.testing import (
    FAKE_BASE_URL,
    PEDESTRIAN_RULE,
    completion_response,
    error_response,
    prose_request,
    sample_label,
)
from gtqa.settings import Settings
from gtqa.spec import SPECS_DIR, compile_text

pytestmark = pytest.mark.respx(base_url=FAKE_BASE_URL, assert_all_called=False)


def _run(
    settings: Settings, requests: list[JudgeRequest], prompts_dir: Path = PROMPTS_DIR
) -> list[JudgeResult]:
    judge = build_judge(settings, environ={}, prompts_dir=prompts_dir)
    return asyncio.run(judge.ajudge_many(requests))


def test_a_second_identical_run_makes_zero_http_calls(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=completion_response())
    requests = [prose_request(sample_label(x1=100.0)), prose_request(sample_label(x1=300.0))]

    first = _run(settings, requests)
    calls_after_first = route.call_count
    judge = build_judge(settings, environ={})
    second = asyncio.run(judge.ajudge_many(requests))

    assert calls_after_first == 2
    assert route.call_count == 2  # nothing new was sent
    assert [r.cached for r in first] == [False, False] and [r.cached for r in second] == [True, True]
    assert [r.verdict for r in second] == [r.verdict for r in first]
    assert [r.attempts for r in second] == [0, 0]
    summary = judge.summary(labels_reviewed=2)
    assert (summary.calls, summary.cache_hits, summary.cost_usd) == (0, 2, 0.0)


def test_a_new_prompt_version_misses_and_a_pin_to_the_old_one_hits(
    tmp_path: Path, settings: Settings, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=completion_response())
    prompts = tmp_path / "prompts"
    shutil.copytree(PROMPTS_DIR, prompts)
    request = prose_request()
    _run(settings, [request], prompts)

    v1 = (prompts / "prose-rule.v1.md").read_text()
    (prompts / "prose-rule.v2.md").write_text(v1.replace("version: 1", "version: 2"))
    (latest,) = _run(settings, [request], prompts)
    pinned = settings.model_copy(update={"judge_prompt_pins": {"prose-rule": 1}})
    (old,) = _run(pinned, [request], prompts)

    assert latest.prompt_version == 2 and not latest.cached
    assert old.prompt_version == 1 and old.cached
    assert route.call_count == 2


def test_a_changed_rule_image_or_label_misses(settings: Settings, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=completion_response())
    text = (SPECS_DIR / "kitti.md").read_text()
    edited = compile_text(text.replace("feet on the ground", "both feet on the ground")).rule(PEDESTRIAN_RULE)
    base = prose_request()
    variants = [
        prose_request(rule=RuleText.from_rule(edited)),
        prose_request(with_image=False),
        prose_request(sample_label(attributes={"comment": "re-checked"})),
    ]
    _run(settings, [base])

    results = _run(settings, [base, *variants])

    assert [r.cached for r in results] == [True, False, False, False]
    assert route.call_count == 4
    assert len({r.cache_key for r in results}) == 4


def test_a_failure_is_not_cached(settings: Settings, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/chat/completions").mock(
        side_effect=[error_response(400, "bad"), completion_response()]
    )

    (failed,) = _run(settings, [prose_request()])
    (retried,) = _run(settings, [prose_request()])

    assert failed.needs_human and retried.verdict is not None and not retried.cached
    assert route.call_count == 2


def _write_many(directory: str, worker: int, results_json: str) -> None:
    cache = VerdictCache(Path(directory), busy_timeout_s=30.0)
    result = JudgeResult.model_validate_json(results_json)
    for i in range(100):
        cache.put(f"{worker}-{i}", result)
        cache.get(f"{(worker + 1) % 4}-{i}")  # reads while others write: must not raise "database is locked"


@pytest.mark.timeout(120)
def test_several_processes_can_write_the_cache_at_once(
    tmp_path: Path, settings: Settings, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post("/chat/completions").mock(return_value=completion_response())
    (result,) = _run(settings, [prose_request()])
    directory = tmp_path / "shared-cache"
    ctx = multiprocessing.get_context("fork")
    workers = [
        ctx.Process(target=_write_many, args=(str(directory), w, result.model_dump_json())) for w in range(4)
    ]

    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=100)

    assert [w.exitcode for w in workers] == [0, 0, 0, 0]
    cache = VerdictCache(directory)
    assert len(cache) == 400
    assert cache.get("3-99") == result
    with closing(sqlite3.connect(cache.path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
