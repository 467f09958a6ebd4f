"""One structured-output request to the model, and every way it can end.

The request goes through ``chat.completions.with_raw_response.parse`` (openai 2.54): ``response_format``
is the strict JSON schema of ``JudgeVerdict`` (``{"type": "json_schema", "json_schema": {"name":
"JudgeVerdict", "strict": true, "schema": ...}}``), the raw response gives the token usage even when the
content cannot be parsed, and ``retries_taken`` gives the number of attempts. Each failure maps to one
``JudgeFailure`` with a reason; the model is asked once, never re-asked on a bad answer.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam, ParsedChatCompletion
from pydantic import ValidationError

from agents.judge.models import JudgeVerdict, TokenUsage
from gtqa.domain import JudgeFailure

# Status codes the openai client retries (408, 409, 429, 5xx): a failure with one of them came after
# every retry.
_RETRIED_STATUS = frozenset({408, 409, 429})
_MAX_BACKOFF_S = 8.0


@dataclass(frozen=True)
class CallOutcome:
    verdict: JudgeVerdict | None
    failure: JudgeFailure | None
    reason: str
    usage: TokenUsage
    attempts: int
    latency_s: float
    response_id: str | None = None


async def call_model(
    client: AsyncOpenAI,
    *,
    model: str,
    messages: list[ChatCompletionMessageParam],
    allowed_rule_ids: tuple[str, ...],
) -> CallOutcome:
    start = time.perf_counter()
    deadline = request_deadline_s(client)
    try:
        raw = await asyncio.wait_for(
            client.chat.completions.with_raw_response.parse(
                model=model, messages=messages, response_format=JudgeVerdict
            ),
            deadline,
        )
    except TimeoutError:  # an endpoint that trickles bytes keeps each read under the HTTP timeout
        why = f"no answer within {deadline:.0f} s (the whole request, retries included)"
        return CallOutcome(None, JudgeFailure.timeout, why, TokenUsage(), 1, time.perf_counter() - start)
    except openai.APIError as exc:
        kind, why, tries = _api_failure(exc, client.max_retries)
        return CallOutcome(None, kind, why, TokenUsage(), tries, time.perf_counter() - start)
    latency = time.perf_counter() - start
    body = _json_body(raw.http_response.text)
    usage, response_id, attempts = _usage(body), _response_id(body), raw.retries_taken + 1
    if not _is_chat_completion(body):  # a proxy's error page, a half-compatible server …
        why = "the endpoint's response is not a chat completion"
        return CallOutcome(None, JudgeFailure.api_error, why, usage, attempts, latency, response_id)
    verdict, failure, reason = _answer(raw.parse, allowed_rule_ids)
    return CallOutcome(verdict, failure, reason, usage, attempts, latency, response_id)


def request_deadline_s(client: AsyncOpenAI) -> float:
    """The longest a request may take in all, seconds: the client's timeout for each of its attempts plus
    the client's back-off between them (at most 8 s each in openai 2.x), and a second to spare. The HTTP
    timeout bounds each read, not the whole answer; this bounds the whole, so a hanging judge
    cannot hold a chunk for ever."""
    timeout = client.timeout
    if isinstance(timeout, httpx.Timeout):
        per_try = max(v for v in (timeout.connect, timeout.read, timeout.write, timeout.pool, 0.0) if v)
    else:
        per_try = float(timeout) if timeout else 600.0
    attempts = client.max_retries + 1
    return per_try * attempts + _MAX_BACKOFF_S * client.max_retries + 1.0


def _answer(
    parse: Callable[[], ParsedChatCompletion[JudgeVerdict]], allowed_rule_ids: tuple[str, ...]
) -> tuple[JudgeVerdict | None, JudgeFailure | None, str]:
    try:
        completion = parse()
    except openai.ContentFilterFinishReasonError:
        return None, JudgeFailure.content_filter, "the provider's content filter stopped the answer"
    except openai.LengthFinishReasonError:
        return (
            None,
            JudgeFailure.truncated,
            "the answer was cut off at the token limit (finish_reason length)",
        )
    except ValidationError as exc:
        return None, JudgeFailure.invalid_output, _invalid(exc)
    if not completion.choices:
        return None, JudgeFailure.invalid_output, "the response has no choices"
    message = completion.choices[0].message
    if message.refusal:
        return None, JudgeFailure.refusal, f"the model refused: {message.refusal}"
    if message.parsed is None:
        return None, JudgeFailure.invalid_output, "the answer is empty"
    unknown = sorted(set(message.parsed.rule_ids) - set(allowed_rule_ids))
    if unknown:
        return None, JudgeFailure.invalid_output, f"the verdict cites rules it was not given: {unknown}"
    return message.parsed, None, ""


def _invalid(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return "the answer is not valid JSON"
    where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in errors[:5])
    return f"the answer does not match the verdict schema: {where}"


def _api_failure(exc: openai.APIError, max_retries: int) -> tuple[JudgeFailure, str, int]:
    retried = 1 + max_retries
    if isinstance(exc, openai.APITimeoutError):
        return JudgeFailure.timeout, f"the request timed out ({retried} attempts)", retried
    if isinstance(exc, openai.APIConnectionError):
        return JudgeFailure.connection, f"cannot reach the endpoint ({retried} attempts): {exc}", retried
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status == 429:
            return JudgeFailure.rate_limited, f"rate limited (HTTP 429) after {retried} attempts", retried
        if status >= 500:
            return (
                JudgeFailure.server_error,
                f"server error (HTTP {status}) after {retried} attempts",
                retried,
            )
        attempts = retried if status in _RETRIED_STATUS else 1
        return JudgeFailure.api_error, f"HTTP {status}: {exc.message}", attempts
    return JudgeFailure.api_error, f"{type(exc).__name__}: {exc}", 1


def _json_body(text: str) -> dict[str, Any]:
    try:
        body = json.loads(text)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _is_chat_completion(body: dict[str, Any]) -> bool:
    try:
        ChatCompletion.model_validate(body)
    except ValidationError:
        return False
    return True


def _usage(body: dict[str, Any]) -> TokenUsage:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return TokenUsage()
    try:
        return TokenUsage.model_validate({k: usage.get(k) or 0 for k in TokenUsage.model_fields})
    except ValidationError:
        return TokenUsage()


def _response_id(body: dict[str, Any]) -> str | None:
    value = body.get("id")
    return value if isinstance(value, str) else None
