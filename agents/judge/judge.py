"""The LLM judge: cache, budget and bounded concurrency around one structured-output call per request.

Build one ``Judge`` per run (``build_judge(settings)``): its budget is that run's. Use it from one event
loop (``await judge.ajudge(...)``, fan out with ``ajudge_many``) or from synchronous code
(``judge_sync``), not both: the async client's connections belong to the loop that opened them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray
from openai import AsyncOpenAI

from agents.judge import render
from agents.judge.budget import JudgeSummary, Prices, RunBudget
from agents.judge.cache import VerdictCache
from agents.judge.call import CallOutcome, call_model
from agents.judge.client import endpoint_problem, make_async_client
from agents.judge.crop import crop_label
from agents.judge.models import ImageCrop, JudgeRequest, JudgeResult, JudgeVerdict, TokenUsage
from agents.judge.prompts import PROMPTS_DIR, Prompt, load_prompt, prompt_ids
from gtqa.domain import Box2D, JudgeFailure
from gtqa.settings import Settings
from gtqa.spec import content_hash

log = logging.getLogger(__name__)
T = TypeVar("T")

REVIEW_FLAG_PROMPT = "review-flag"
PROSE_RULE_PROMPT = "prose-rule"
# Bump when the meaning of a cached entry changes in a way the key does not capture.
_CACHE_FORMAT = 1
_VERDICT_SCHEMA_HASH = content_hash(JudgeVerdict.model_json_schema())


class Judge:
    def __init__(
        self,
        client: AsyncOpenAI | None,
        *,
        model: str,
        budget: RunBudget,
        cache: VerdictCache | None = None,
        concurrency: int = 8,
        prompts_dir: Path = PROMPTS_DIR,
        prompt_pins: Mapping[str, int] | None = None,
        disabled_reason: str | None = None,
        owns_client: bool = False,
        crop_margin: float = 0.5,
        crop_max_px: int = 512,
    ) -> None:
        if client is None and disabled_reason is None:
            raise ValueError("a judge without a client must say why it is disabled")
        self.model = model
        self.budget = budget
        self.disabled_reason = disabled_reason if client is None else None
        self._client = client
        self._cache = cache
        self._concurrency = concurrency
        self._prompts_dir = prompts_dir
        self._pins = dict(prompt_pins or {})
        self._owns_client = owns_client
        self._crop_margin, self._crop_max_px = crop_margin, crop_max_px
        self._prompts: dict[str, Prompt] = {}
        self._prompt_ids = prompt_ids(prompts_dir)  # read once per run: a rule-specific prompt wins
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._warned = threading.Event()
        self._runner: asyncio.Runner | None = None

    @property
    def enabled(self) -> bool:
        return self._client is not None

    async def ajudge(self, request: JudgeRequest) -> JudgeResult:
        """Judge one request; never raises for an API or answer problem (those end in needs_human)."""
        prompt = self.prompt_for(request)
        key = self.cache_key(request, prompt)
        if self._client is None:
            return self._disabled(request, prompt, key)
        hit = await self._cached(key)
        if hit is not None:
            return hit
        async with self._semaphore():
            if not self.budget.try_reserve():
                return self._finish(
                    self._failure(request, prompt, key, JudgeFailure.budget, "budget exhausted")
                )
            outcome = await self._call(self._client, request, prompt)
        result = self._result(request, prompt, key, outcome)
        if self._cache is not None and result.verdict is not None:
            await asyncio.to_thread(self._cache.put, key, result)
        return self._finish(result)

    async def ajudge_many(self, requests: Sequence[JudgeRequest]) -> list[JudgeResult]:
        """Judge many requests concurrently (at most ``concurrency`` in flight); results in input order."""
        return list(await asyncio.gather(*(self.ajudge(r) for r in requests)))

    def judge_sync(self, request: JudgeRequest) -> JudgeResult:
        """``ajudge`` for synchronous callers (not from inside a running event loop)."""
        return self._run(self.ajudge(request))

    def crop(self, image: NDArray[np.uint8], box: Box2D) -> ImageCrop | None:
        """The crop to attach to a request, with this run's margin and size bound (see ``crop_label``)."""
        return crop_label(image, box, margin=self._crop_margin, max_px=self._crop_max_px)

    def summary(self, labels_reviewed: int) -> JudgeSummary:
        return self.budget.summary(labels_reviewed)

    def prompt_for(self, request: JudgeRequest) -> Prompt:
        """The request's prompt: named, else one named after a rule, else review-flag / prose-rule."""
        prompt_id = request.prompt or self._default_prompt_id(request)
        if prompt_id not in self._prompts:
            self._prompts[prompt_id] = load_prompt(prompt_id, self._pins.get(prompt_id), self._prompts_dir)
        return self._prompts[prompt_id]

    def cache_key(self, request: JudgeRequest, prompt: Prompt) -> str:
        """Hash of model, prompt (id, version, file hash), verdict schema, rules, image, label, evidence."""
        return content_hash(
            {
                "format": _CACHE_FORMAT,
                "schema": _VERDICT_SCHEMA_HASH,
                "model": self.model,
                "prompt": [prompt.id, prompt.version, prompt.sha256],
                "rules": [[r.id, r.hash] for r in request.rules],
                "image": request.image.sha256 if request.image else None,
                "label": request.label.model_dump(mode="json"),
                "evidence": request.evidence.model_dump(mode="json") if request.evidence else None,
            }
        )

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.close()

    def close(self) -> None:
        """Close a client this judge built, and the loop ``judge_sync`` used."""
        runner, self._runner = self._runner, None
        if runner is None:
            asyncio.run(self.aclose())
            return
        with runner:
            runner.run(self.aclose())

    def _default_prompt_id(self, request: JudgeRequest) -> str:
        for rule_id in request.rule_ids:
            if rule_id in self._prompt_ids:
                return rule_id
        return REVIEW_FLAG_PROMPT if request.evidence is not None else PROSE_RULE_PROMPT

    async def _cached(self, key: str) -> JudgeResult | None:
        if self._cache is None:
            return None
        hit = await asyncio.to_thread(self._cache.get, key)
        if hit is None:
            return None
        return self._finish(hit.model_copy(update={"cached": True, "attempts": 0}))

    async def _call(self, client: AsyncOpenAI, request: JudgeRequest, prompt: Prompt) -> CallOutcome:
        try:
            outcome = await call_model(
                client, model=self.model, messages=render.messages(prompt, request),
                allowed_rule_ids=request.rule_ids,
            )  # fmt: skip
        except BaseException:  # cancelled or a bug: the reserved call still leaves the in-flight count
            self.budget.settle(TokenUsage())
            raise
        self.budget.settle(outcome.usage)
        return outcome

    def _result(self, request: JudgeRequest, prompt: Prompt, key: str, outcome: CallOutcome) -> JudgeResult:
        return JudgeResult(
            verdict=outcome.verdict,
            failure=outcome.failure,
            reason=outcome.reason,
            rule_ids=request.rule_ids,
            model=self.model,
            prompt_id=prompt.id,
            prompt_version=prompt.version,
            usage=outcome.usage,
            cost_usd=self.budget.prices.cost(outcome.usage),
            latency_s=outcome.latency_s,
            attempts=outcome.attempts,
            response_id=outcome.response_id,
            cache_key=key,
        )

    def _failure(
        self, request: JudgeRequest, prompt: Prompt, key: str, failure: JudgeFailure, reason: str
    ) -> JudgeResult:
        return JudgeResult(
            failure=failure, reason=reason, rule_ids=request.rule_ids, model=self.model,
            prompt_id=prompt.id, prompt_version=prompt.version, cache_key=key,
        )  # fmt: skip

    def _disabled(self, request: JudgeRequest, prompt: Prompt, key: str) -> JudgeResult:
        reason = self.disabled_reason or "judge disabled"
        if not self._warned.is_set():
            self._warned.set()
            log.warning("LLM judge disabled, its questions go to human review: %s", reason)
        return self._finish(self._failure(request, prompt, key, JudgeFailure.disabled, reason))

    def _finish(self, result: JudgeResult) -> JudgeResult:
        self.budget.record(cached=result.cached, needs_human=result.needs_human)
        return result

    def _semaphore(self) -> asyncio.Semaphore:
        # One per event loop: an asyncio.Semaphore binds to the loop it first waits on.
        loop = asyncio.get_running_loop()
        if loop not in self._semaphores:
            self._semaphores[loop] = asyncio.Semaphore(self._concurrency)
        return self._semaphores[loop]

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._runner is None:
            self._runner = asyncio.Runner()
        return self._runner.run(coro)


def build_judge(
    settings: Settings,
    *,
    client: AsyncOpenAI | None = None,
    environ: Mapping[str, str] | None = None,
    prompts_dir: Path = PROMPTS_DIR,
) -> Judge:
    """A judge for one run, from settings. Without ``client``, one is built from settings unless no
    endpoint is configured, in which case the judge is disabled and every result says why."""
    problem = None if client is not None else endpoint_problem(settings, environ)
    owns = client is None and problem is None
    if owns:
        client = make_async_client(settings, environ)
    return Judge(
        client,
        model=settings.judge_model,
        budget=RunBudget(
            max_calls=settings.judge_max_calls,
            max_cost_usd=settings.judge_max_cost_usd,
            prices=Prices(
                input_per_mtok=settings.judge_price_input_per_mtok,
                output_per_mtok=settings.judge_price_output_per_mtok,
            ),
        ),
        cache=VerdictCache(settings.judge_cache_dir) if problem is None else None,
        concurrency=settings.judge_concurrency,
        prompts_dir=prompts_dir,
        prompt_pins=settings.judge_prompt_pins,
        disabled_reason=problem,
        owns_client=owns,
        crop_margin=settings.judge_crop_margin,
        crop_max_px=settings.judge_crop_max_px,
    )
