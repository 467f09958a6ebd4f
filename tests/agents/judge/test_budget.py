"""The run's budget caps calls and cost across concurrent calls; the summary reports what was spent."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import respx

from agents.judge import JudgeFailure, JudgeRequest, Prices, RunBudget, TokenUsage, build_judge
from agents.judge.testing import (
    FAKE_BASE_URL,
    completion_response,
    fake_settings,
    prose_request,
    sample_label,
)

pytestmark = pytest.mark.respx(base_url=FAKE_BASE_URL, assert_all_called=False)


def _requests(n: int) -> list[JudgeRequest]:
    return [prose_request(sample_label(x1=50.0 + 20 * i)) for i in range(n)]


def test_the_call_cap_holds_across_concurrent_calls(tmp_path: Path, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=completion_response())
    judge = build_judge(fake_settings(tmp_path, judge_max_calls=3, judge_concurrency=8), environ={})

    results = asyncio.run(judge.ajudge_many(_requests(7)))

    assert route.call_count == 3
    refused = [r for r in results if r.failure is JudgeFailure.budget]
    assert len(refused) == 4 and all(r.reason == "budget exhausted" and r.attempts == 0 for r in refused)
    summary = judge.summary(labels_reviewed=7)
    assert (summary.calls, summary.budget_refusals, summary.needs_human) == (3, 4, 4)


def test_the_cost_cap_stops_calls_once_spent(tmp_path: Path, respx_mock: respx.MockRouter) -> None:
    # $1 per call: 1000 prompt tokens at $1000 per million, completions free.
    route = respx_mock.post("/chat/completions").mock(
        return_value=completion_response(prompt_tokens=1000, completion_tokens=50)
    )
    settings = fake_settings(
        tmp_path, judge_max_cost_usd=2.5, judge_concurrency=1,
        judge_price_input_per_mtok=1000.0, judge_price_output_per_mtok=0.0,
    )  # fmt: skip
    judge = build_judge(settings, environ={})

    results = asyncio.run(judge.ajudge_many(_requests(5)))

    assert route.call_count == 3  # $0, $1, $2 spent before each: the third call takes it to $3 >= $2.50
    assert [r.failure for r in results].count(JudgeFailure.budget) == 2
    summary = judge.summary(labels_reviewed=200)
    assert summary.cost_usd == pytest.approx(3.0)
    assert (summary.prompt_tokens, summary.completion_tokens) == (3000, 150)
    assert summary.cost_per_1000_labels_usd == pytest.approx(15.0)


def test_an_exhausted_budget_still_serves_cached_verdicts(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=completion_response())
    requests = _requests(2)
    asyncio.run(build_judge(fake_settings(tmp_path), environ={}).ajudge_many(requests))

    broke = build_judge(fake_settings(tmp_path, judge_max_calls=0), environ={})
    results = asyncio.run(broke.ajudge_many([*requests, *_requests(3)[2:]]))

    assert [r.cached for r in results] == [True, True, False]
    assert results[2].failure is JudgeFailure.budget
    assert route.call_count == 2


def test_cost_is_tokens_times_prices_and_the_unit_cost_is_per_thousand_labels() -> None:
    budget = RunBudget(
        max_calls=10, max_cost_usd=100.0, prices=Prices(input_per_mtok=2.0, output_per_mtok=8.0)
    )
    assert budget.try_reserve()

    cost = budget.settle(TokenUsage(prompt_tokens=500_000, completion_tokens=250_000, total_tokens=750_000))

    assert cost == pytest.approx(1.0 + 2.0)
    assert budget.summary(labels_reviewed=600).cost_per_1000_labels_usd == pytest.approx(5.0)
    assert budget.summary(labels_reviewed=0).cost_per_1000_labels_usd is None
