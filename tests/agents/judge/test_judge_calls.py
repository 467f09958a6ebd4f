"""One judge call against a respx-mocked OpenAI API: the request sent, the verdict read, and every way a
call ends in needs_human (retries counted at the HTTP level)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import openai._base_client
import pytest
import respx

from agents.judge import JudgeFailure, build_judge, load_prompt
from agents.judge.testing import (
    FAKE_BASE_URL,
    PEDESTRIAN_RULE,
    chat_completion,
    completion_response,
    error_response,
    fake_settings,
    flag_request,
    image_parts,
    prose_request,
    request_body,
    sample_label,
    user_text,
    verdict_content,
)
from gtqa.domain import IssueType, Verdict
from gtqa.settings import Settings
from gtqa.spec import load_spec

pytestmark = pytest.mark.respx(base_url=FAKE_BASE_URL, assert_all_called=False)


def _short_backoff(*_args: Any, **_kwargs: Any) -> float:
    return 0.001


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # As openai-python's own tests do: keep the client's retry logic, shorten only its sleeps.
    monkeypatch.setattr(openai._base_client.BaseClient, "_calculate_retry_timeout", _short_backoff)


def test_a_structured_verdict_is_returned_with_its_provenance(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=completion_response())
    request = prose_request()

    result = build_judge(settings, environ={}).judge_sync(request)

    assert route.call_count == 1
    assert result.verdict is not None and not result.needs_human
    assert result.verdict.verdict == Verdict.defect
    assert result.verdict.issue_type is IssueType.wrong_class
    assert result.verdict.rule_ids == [PEDESTRIAN_RULE] and result.verdict.confidence == 0.85
    assert (result.model, result.prompt_id, result.prompt_version) == ("gpt-4o-mini", "prose-rule", 1)
    assert (result.usage.prompt_tokens, result.usage.completion_tokens, result.usage.total_tokens) == (
        1200, 80, 1280,
    )  # fmt: skip
    assert result.cost_usd == pytest.approx((1200 * 0.15 + 80 * 0.60) / 1e6)
    assert result.attempts == 1 and not result.cached and result.latency_s > 0
    assert result.response_id == "chatcmpl-judge-1"


def test_the_request_body_carries_model_schema_image_and_the_rules_own_prose(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=completion_response())
    request = prose_request()

    build_judge(settings, environ={}).judge_sync(request)

    body = request_body(route)
    assert body["model"] == "gpt-4o-mini"
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "JudgeVerdict" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert list(schema["properties"])[:2] == ["reasoning", "verdict"]  # reasoning is generated first
    assert schema["additionalProperties"] is False
    assert body["messages"][0] == {"role": "system", "content": load_prompt("prose-rule").system}
    assert load_spec().rule(PEDESTRIAN_RULE).prose in user_text(body)
    assert request.image is not None
    (part,) = image_parts(body)
    assert part["image_url"]["url"] == request.image.data_url
    assert part["image_url"]["url"].startswith("data:image/png;base64,")
    assert route.calls[0].request.headers["authorization"] == "Bearer sk-test"


def test_a_request_without_an_image_sends_no_image_part(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=completion_response())

    build_judge(settings, environ={}).judge_sync(prose_request(with_image=False))

    body = request_body(route)
    assert image_parts(body) == []
    assert "No image is available" in user_text(body)


def test_a_flag_is_reviewed_with_its_evidence_by_the_review_flag_prompt(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("/chat/completions").mock(
        return_value=completion_response(
            verdict_content("not_defect", rule_ids=("box-size",), issue_type=None)
        )
    )

    result = build_judge(settings, environ={}).judge_sync(flag_request())

    assert result.prompt_id == "review-flag" and result.verdict is not None
    assert result.verdict.verdict == Verdict.not_defect
    text = user_text(request_body(route))
    assert load_spec().rule("box-size").prose in text
    assert '"check": "min_size"' in text and "box is 8 px high, under 10 px" in text


def test_a_429_is_retried_and_then_succeeds(settings: Settings, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/chat/completions").mock(
        side_effect=[error_response(429, "Rate limit reached", "rate_limit_exceeded"), completion_response()]
    )

    result = build_judge(settings, environ={}).judge_sync(prose_request())

    assert route.call_count == 2
    assert result.verdict is not None and result.attempts == 2


@pytest.mark.parametrize("max_retries", [0, 2, 3])
def test_a_500_storm_ends_in_needs_human_after_exactly_the_retry_bound(
    settings: Settings, respx_mock: respx.MockRouter, max_retries: int
) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=error_response(500))
    storm = settings.model_copy(update={"judge_max_retries": max_retries})
    judge = build_judge(storm, environ={})

    result = judge.judge_sync(prose_request())

    assert route.call_count == 1 + max_retries
    assert result.needs_human and result.failure is JudgeFailure.server_error
    assert result.attempts == 1 + max_retries and "HTTP 500" in result.reason
    assert result.usage.total_tokens == 0 and result.cost_usd == 0.0
    assert judge.summary(labels_reviewed=1).calls == 1


def test_a_non_transient_error_is_not_retried(settings: Settings, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=error_response(400, "Invalid schema"))

    result = build_judge(settings, environ={}).judge_sync(prose_request())

    assert route.call_count == 1
    assert result.failure is JudgeFailure.api_error and "Invalid schema" in result.reason


def test_a_timeout_ends_in_needs_human(settings: Settings, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post("/chat/completions").mock(side_effect=httpx.ReadTimeout("read timed out"))

    result = build_judge(settings, environ={}).judge_sync(prose_request())

    assert route.call_count == 1 + settings.judge_max_retries
    assert result.failure is JudgeFailure.timeout and "timed out" in result.reason


def test_malformed_json_ends_in_needs_human_without_asking_again(
    settings: Settings, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("/chat/completions").mock(
        return_value=completion_response('{"reasoning": "The rider is')
    )

    result = build_judge(settings, environ={}).judge_sync(prose_request())

    assert route.call_count == 1
    assert result.failure is JudgeFailure.invalid_output and "not valid JSON" in result.reason
    assert result.usage.total_tokens == 1280  # the tokens were spent all the same
    assert result.cost_usd > 0


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"verdict": "approved"}', "verdict"),
        (verdict_content(confidence=1.7), "confidence"),
        (verdict_content().replace('"rule_ids"', '"extra": 1, "rule_ids"'), "extra"),
    ],
)
def test_schema_invalid_content_ends_in_needs_human_and_says_why(
    settings: Settings, respx_mock: respx.MockRouter, content: str, why: str
) -> None:
    respx_mock.post("/chat/completions").mock(return_value=completion_response(content))

    result = build_judge(settings, environ={}).judge_sync(prose_request())

    assert result.failure is JudgeFailure.invalid_output
    assert "does not match the verdict schema" in result.reason and why in result.reason


def test_a_refusal_ends_in_needs_human(settings: Settings, respx_mock: respx.MockRouter) -> None:
    respx_mock.post("/chat/completions").mock(
        return_value=httpx.Response(
            200, json=chat_completion(None, refusal="I'm sorry, I can't help with that.")
        )
    )

    result = build_judge(settings, environ={}).judge_sync(prose_request())

    assert result.failure is JudgeFailure.refusal and "can't help" in result.reason


@pytest.mark.parametrize(
    ("finish_reason", "failure"),
    [("content_filter", JudgeFailure.content_filter), ("length", JudgeFailure.truncated)],
)
def test_a_stopped_answer_ends_in_needs_human(
    settings: Settings, respx_mock: respx.MockRouter, finish_reason: str, failure: JudgeFailure
) -> None:
    respx_mock.post("/chat/completions").mock(
        return_value=httpx.Response(200, json=chat_completion('{"reasoning": "', finish_reason=finish_reason))
    )

    result = build_judge(settings, environ={}).judge_sync(prose_request())

    assert result.failure is failure


def test_fan_out_keeps_at_most_concurrency_calls_in_flight(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    in_flight, peak = 0, 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return completion_response()

    respx_mock.post("/chat/completions").mock(side_effect=slow)
    judge = build_judge(fake_settings(tmp_path, judge_concurrency=2), environ={})
    requests = [prose_request(sample_label(x1=100.0 + 10 * i)) for i in range(6)]

    results = asyncio.run(judge.ajudge_many(requests))

    assert peak == 2
    assert [r.verdict is not None for r in results] == [True] * 6


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>502 Bad Gateway</html>", headers={"content-type": "text/html"}),
        httpx.Response(200, json={"id": "chatcmpl-1", "object": "chat.completion"}),
        httpx.Response(200, json={**chat_completion(verdict_content()), "choices": "none"}),
    ],
)
def test_a_response_that_is_not_a_chat_completion_is_an_api_error_not_a_crash(
    settings: Settings, respx_mock: respx.MockRouter, response: httpx.Response
) -> None:
    respx_mock.post("/chat/completions").mock(return_value=response)

    result = build_judge(settings, environ={}).judge_sync(prose_request())

    assert result.failure is JudgeFailure.api_error and "not a chat completion" in result.reason
