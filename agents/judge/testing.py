"""Fakes for testing the judge and the graph that calls it, with no network: settings pointing at a fake
endpoint (mock it with respx at ``FAKE_BASE_URL``), payloads shaped like the real chat.completion API,
small requests built from the shipped KITTI spec, and readers of the request body the judge sent.

Nothing here is used by the judge itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
from numpy.typing import NDArray

from agents.judge.crop import crop_label
from agents.judge.models import Evidence, JudgeRequest, LabelData, RuleText
from gtqa.domain import Box2D, IssueType, Label
from gtqa.settings import Settings
from gtqa.spec import load_spec

if TYPE_CHECKING:
    import respx

FAKE_BASE_URL = "https://judge.test/v1"
PEDESTRIAN_RULE = "pedestrian-pushing-bicycle"


def fake_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for the fake endpoint, caching under ``tmp_path``, ignoring any .env file."""
    values: dict[str, Any] = {
        "cache_dir": tmp_path / "cache",
        "judge_model": "gpt-4o-mini",
        "judge_base_url": FAKE_BASE_URL,
        "judge_api_key": "sk-test",
        "judge_timeout_s": 5.0,
        "judge_max_retries": 2,
        "judge_concurrency": 4,
        "judge_max_calls": 100,
        "judge_max_cost_usd": 10.0,
        "judge_price_input_per_mtok": 0.15,
        "judge_price_output_per_mtok": 0.60,
        "judge_prompt_pins": {},
        **overrides,
    }
    return Settings(_env_file=None, **values)


def chat_completion(
    content: str | None,
    *,
    refusal: str | None = None,
    finish_reason: str = "stop",
    prompt_tokens: int = 1200,
    completion_tokens: int = 80,
) -> dict[str, Any]:
    """A chat.completion object as the API returns it."""
    return {
        "id": "chatcmpl-judge-1",
        "object": "chat.completion",
        "created": 1_726_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "service_tier": "default",
        "system_fingerprint": "fp_test",
    }


def verdict_content(
    verdict: str = "defect",
    *,
    rule_ids: tuple[str, ...] = (PEDESTRIAN_RULE,),
    issue_type: str | None = "wrong_class",
    confidence: float = 0.85,
) -> str:
    return json.dumps(
        {
            "reasoning": "The person walks beside the bicycle, both feet on the ground, hands on the bars.",
            "verdict": verdict,
            "confidence": confidence,
            "issue_type": issue_type,
            "rule_ids": list(rule_ids),
        }
    )


def completion_response(content: str | None = None, **kwargs: Any) -> httpx.Response:
    return httpx.Response(
        200, json=chat_completion(verdict_content() if content is None else content, **kwargs)
    )


def error_response(status: int, message: str = "upstream error", code: str | None = None) -> httpx.Response:
    body = {"error": {"message": message, "type": "server_error", "param": None, "code": code}}
    return httpx.Response(status, json=body)


def sample_label(
    *, x1: float = 100.0, attributes: dict[str, str] | None = None, cls: str = "Cyclist"
) -> Label:
    return Label(
        id="000015:3",
        frame="000015",
        cls=cls,
        box=Box2D(x1=x1, y1=120.0, x2=x1 + 40.0, y2=200.0),
        truncation=0.0,
        occlusion=1,
        attributes=attributes or {},
    )


def sample_image() -> NDArray[np.uint8]:
    """A KITTI-sized (1242 x 375) BGR noise image."""
    rng = np.random.default_rng(7)
    return rng.integers(0, 255, size=(375, 1242, 3), dtype=np.uint8)


def prose_request(
    lab: Label | None = None, *, with_image: bool = True, rule: RuleText | None = None
) -> JudgeRequest:
    lab = lab or sample_label()
    crop = crop_label(sample_image(), lab.box) if with_image else None
    rule = rule or RuleText.from_rule(load_spec().rule(PEDESTRIAN_RULE))
    return JudgeRequest(rules=(rule,), label=LabelData.from_label(lab), image=crop)


def flag_request(lab: Label | None = None) -> JudgeRequest:
    lab = lab or sample_label()
    spec = load_spec()
    return JudgeRequest(
        rules=(RuleText.from_rule(spec.rule("box-size")),),
        label=LabelData.from_label(lab),
        evidence=Evidence(check="min_size", message="box is 8 px high, under 10 px", score=0.7,
                          issue_type=IssueType.spec_violation),
    )  # fmt: skip


def request_body(route: respx.Route, index: int = -1) -> dict[str, Any]:
    """The JSON body of a request the route received."""
    body: dict[str, Any] = json.loads(route.calls[index].request.content)
    return body


def user_text(body: dict[str, Any]) -> str:
    parts = body["messages"][1]["content"]
    return "".join(p["text"] for p in parts if p["type"] == "text")


def image_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in body["messages"][1]["content"] if p["type"] == "image_url"]


def request_label_data(request: httpx.Request) -> dict[str, Any]:
    """The ``<label_data>`` payload (label + evidence) of a chat request the judge sent."""
    text = user_text(json.loads(request.content))
    start = text.index("<label_data>") + len("<label_data>")
    end = text.index("</label_data>", start)
    data: dict[str, Any] = json.loads(text[start:end])
    return data


def scripted_responder(
    decide: Callable[[dict[str, Any]], tuple[str, float]],
) -> Callable[[httpx.Request], httpx.Response]:
    """A respx side effect answering each judge request from a fixed rule: ``decide(label_data)``
    returns (verdict, confidence); the answer is a well-formed structured-output completion."""

    def respond(request: httpx.Request) -> httpx.Response:
        data = request_label_data(request)
        verdict, confidence = decide(data)
        issue = (data.get("evidence") or {}).get("issue_type") if verdict == "defect" else None
        rule_ids = _rule_ids(json.loads(request.content))
        content = verdict_content(verdict, rule_ids=rule_ids, issue_type=issue, confidence=confidence)
        return httpx.Response(200, json=chat_completion(content))

    return respond


def _rule_ids(body: dict[str, Any]) -> tuple[str, ...]:
    text = user_text(body)
    ids = []
    for part in text.split('<spec_rule id="')[1:]:
        ids.append(part.split('"', 1)[0])
    return tuple(ids)
