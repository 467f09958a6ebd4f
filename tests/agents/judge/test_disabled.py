"""No endpoint configured (neither GTQA_JUDGE_* nor OPENAI_*): the judge is disabled, says so once, and
sends nothing; either source of a key or a base URL enables it."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
import respx

from agents.judge import JudgeFailure, build_judge, endpoint_problem
from agents.judge.testing import (
    FAKE_BASE_URL,
    completion_response,
    fake_settings,
    prose_request,
    sample_label,
)

pytestmark = pytest.mark.respx(base_url=FAKE_BASE_URL, assert_all_called=False)


def test_no_endpoint_disables_the_judge_which_says_so_once(
    tmp_path: Path, respx_mock: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=completion_response())
    settings = fake_settings(tmp_path, judge_api_key=None, judge_base_url=None)
    judge = build_judge(settings, environ={"HOME": "/root"})

    with caplog.at_level(logging.WARNING, logger="agents.judge"):
        results = asyncio.run(
            judge.ajudge_many([prose_request(sample_label(x1=x)) for x in (10.0, 60.0, 110.0)])
        )

    assert not judge.enabled and judge.disabled_reason is not None
    assert "GTQA_JUDGE_API_KEY" in judge.disabled_reason and "OPENAI_API_KEY" in judge.disabled_reason
    assert [r.failure for r in results] == [JudgeFailure.disabled] * 3
    assert all(r.reason == judge.disabled_reason for r in results)
    assert len([r for r in caplog.records if "judge disabled" in r.getMessage()]) == 1
    assert route.call_count == 0 and not settings.judge_cache_dir.exists()


@pytest.mark.parametrize(
    ("overrides", "environ"),
    [
        ({"judge_api_key": "sk-gtqa"}, {}),
        ({"judge_base_url": FAKE_BASE_URL}, {}),
        ({}, {"OPENAI_API_KEY": "sk-env"}),
        ({}, {"OPENAI_BASE_URL": FAKE_BASE_URL}),
    ],
)
def test_a_key_or_a_base_url_from_either_source_enables_it(
    tmp_path: Path, overrides: dict[str, str], environ: dict[str, str]
) -> None:
    settings = fake_settings(tmp_path, **{"judge_api_key": None, "judge_base_url": None, **overrides})
    assert endpoint_problem(settings, environ) is None
    assert build_judge(settings, environ=environ).enabled


def test_the_key_and_base_url_of_the_environment_are_used(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=completion_response())
    settings = fake_settings(tmp_path, judge_api_key=None, judge_base_url=None)
    judge = build_judge(settings, environ={"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": FAKE_BASE_URL})

    result = judge.judge_sync(prose_request())

    assert result.verdict is not None
    assert route.call_count == 1 and route.calls[0].request.headers["authorization"] == "Bearer sk-env"
