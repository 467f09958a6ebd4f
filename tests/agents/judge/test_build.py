"""Building the judge and its requests: the client factory applies our timeout and retry count, a
request is built from the domain's own objects, and closing leaves an injected client alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import respx

from agents.judge import JudgeRequest, build_judge, make_async_client
from agents.judge.testing import (
    FAKE_BASE_URL,
    completion_response,
    fake_settings,
    request_body,
    sample_image,
    sample_label,
    user_text,
)
from gtqa.domain import Finding, IssueType
from gtqa.settings import Settings
from gtqa.spec import load_spec

pytestmark = pytest.mark.respx(base_url=FAKE_BASE_URL, assert_all_called=False)


def test_the_client_gets_our_timeout_retries_key_and_endpoint(tmp_path: Path) -> None:
    settings = fake_settings(tmp_path, judge_timeout_s=12.5, judge_max_retries=4)

    client = make_async_client(settings, environ={"OPENAI_API_KEY": "sk-ignored"})

    assert client.timeout == 12.5 and client.max_retries == 4
    assert client.api_key == "sk-test" and str(client.base_url).rstrip("/") == FAKE_BASE_URL


def test_a_request_from_the_domain_carries_rule_label_evidence_and_neighbours() -> None:
    spec = load_spec()
    label, other = sample_label(x1=100.0), sample_label(x1=120.0).model_copy(update={"id": "000015:4"})
    finding = Finding(
        frame="000015", label=label.id, type=IssueType.duplicate, score=0.8, box=(100, 120, 140, 200),
        check="duplicate", message="overlaps 000015:4 at IoU 0.33",
    )  # fmt: skip

    request = JudgeRequest.from_domain(
        [spec.rule("thresholds")], label, finding=finding, neighbours=(label, other), image_size=(1242, 375)
    )

    assert request.rule_ids == ("thresholds",) and request.rules[0].hash == spec.rule("thresholds").hash
    assert request.evidence is not None and request.evidence.check == "duplicate"
    assert [n.id for n in request.label.neighbours] == ["000015:4"]  # the label is not its own neighbour
    assert request.label.neighbours[0].iou == pytest.approx(20 * 80 / (2 * 40 * 80 - 20 * 80), abs=1e-4)
    assert request.label.image_size == (1242, 375)


def test_the_judge_crops_with_the_run_settings(tmp_path: Path) -> None:
    judge = build_judge(fake_settings(tmp_path, judge_crop_max_px=128), environ={})

    crop = judge.crop(sample_image(), sample_label().box)

    assert crop is not None and max(crop.width, crop.height) == 128


def test_closing_the_judge_leaves_an_injected_client_open(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post("/chat/completions").mock(return_value=completion_response())
    settings = fake_settings(tmp_path)
    client = make_async_client(settings, environ={})
    judge = build_judge(settings, client=client)
    label = sample_label()
    request = JudgeRequest.from_domain(
        [load_spec().rule("pedestrian-pushing-bicycle")], label, image=judge.crop(sample_image(), label.box)
    )

    result = judge.judge_sync(request)
    judge.close()

    assert result.verdict is not None and not client.is_closed()
    assert "Question: Does the class of this label follow the rule" in user_text(request_body(route))


def test_the_judge_settings_come_from_gtqa_env_and_the_cache_follows_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GTQA_CACHE_DIR", "GTQA_JUDGE_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GTQA_JUDGE_MAX_COST_USD", "0.5")
    monkeypatch.setenv("GTQA_JUDGE_PROMPT_PINS", '{"review-flag": 1}')

    settings = Settings(_env_file=None)

    assert settings.judge_cache_dir == tmp_path / "xdg" / "gtqa" / "judge"
    assert settings.judge_max_cost_usd == 0.5 and settings.judge_prompt_pins == {"review-flag": 1}
    monkeypatch.setenv("GTQA_JUDGE_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert Settings(_env_file=None).judge_cache_dir == tmp_path / "elsewhere"
